"""``streetorder evaluate``: scenario suite, event scores, detector scores and the evaluation report."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table

from contracts.names import BACKENDS
from detector.load import load_detector
from evaluation.detector_table import HEADER as DETECTOR_HEADER
from evaluation.detector_table import DetectorRow, compare_detectors, detector_rows, validator_row
from evaluation.events_io import GeoTruthScenario, ScoringInputError, read_events, read_truth
from evaluation.make import ONLY_NAMED, SUITE_FILE, make_scenarios
from evaluation.material import Material
from evaluation.patrol import PATROL_SCENARIOS
from evaluation.repeat_offender import REPEAT_SCENARIOS
from evaluation.report import write_report
from evaluation.score_detections import DEFAULT_RUNS, LabelError, read_labelled
from evaluation.score_events import EventScores, score_events
from evaluation.suite import by_name, suite
from evaluation.tables import EVENT_HEADER, OUTCOME_HEADER, event_rows, ladder_line, outcome_rows
from streetorder import process_cmd
from zones.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SUITE = Path("out/scenarios")
LABELLED = ROOT / "tests" / "data" / "labelled"


def shared_data() -> Path:
    return Path(os.environ.get("STREETORDER_SHARED", ROOT.parent / "shared")) / "data"


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("evaluate", help="scenario suite, event and detector scores, evaluation report",
                            description="Measure the pipeline: semi-synthetic scenarios with exact ground truth, "
                                        "event scores, detector accuracy and the docs/EVALUATION.md report.")
    sub = p.add_subparsers(dest="evaluate_command", required=True, metavar="WHAT")

    make = sub.add_parser("make-scenarios", help="render the scenario suite (video.mp4, cameras.yaml, gt.json each)")
    make.add_argument("out", type=Path, help="output folder (one sub-folder per scenario, plus suite.yaml)")
    make.add_argument("--only", action="append", metavar="NAME", help="only this scenario (repeatable)")
    make.add_argument("--list", action="store_true", help="list the scenarios and exit")
    make.add_argument("--data", type=Path, default=None, help="the real footage (default ../shared/data)")
    make.add_argument("--model", default="yolo11n", help="model that checks every resting sprite is detected")
    make.set_defaults(run=run_make)

    events = sub.add_parser("events", help="score OUT/events.jsonl against scenario ground truth")
    events.add_argument("--gt", required=True, type=Path, help="a scenario's gt.json, or the suite folder")
    events.add_argument("--pred", required=True, type=Path, help="events.jsonl written by `streetorder process`")
    events.add_argument("--tolerance", type=float, default=60.0, help="seconds a warn may be off and still match")
    events.add_argument("--min-iou", type=float, default=0.3, help="box overlap a warn needs with its object")
    events.add_argument("--json", type=Path, help="also write the scores as JSON here")
    events.add_argument("--outcomes", action="store_true", help="also list what happened to every object")
    events.set_defaults(run=run_events)

    detections = sub.add_parser("detections", help="mAP of models and backends on a YOLO-format labelled set")
    detections.add_argument("--labels", type=Path, default=LABELLED, help=f"labelled set (default {LABELLED})")
    detections.add_argument("--run", action="append", dest="runs", metavar="MODEL:BACKEND",
                            help="a model and backend to score (repeatable; default: the comparison of "
                                 "docs/EVALUATION.md)")
    detections.add_argument("--validator", action="store_true",
                            help="add Ultralytics' own validator on yolo11n.pt as a reference row")
    detections.add_argument("--json", type=Path, help="also write the scores as JSON here")
    detections.set_defaults(run=run_detections)

    for name, text in (("suite", "render the suite if needed, process it with default settings, print the scores"),
                       ("report", "everything in `suite`, plus the detector table, written to docs/EVALUATION.md")):
        command = sub.add_parser(name, help=text, description=text)
        command.add_argument("--suite", type=Path, default=DEFAULT_SUITE,
                             help=f"suite folder (default {DEFAULT_SUITE})")
        command.add_argument("--rerender", action="store_true", help="render the scenarios again even if present")
        command.add_argument("--reuse-run", action="store_true",
                             help="score the existing SUITE/run/events.jsonl instead of processing again")
        command.add_argument("--data", type=Path, default=None, help="the real footage (default ../shared/data)")
        command.add_argument("--annotate", action="store_true", help="also write SUITE/run/annotated/*.mp4")
        command.set_defaults(run=run_suite if name == "suite" else run_report)
    report = sub.choices["report"]
    report.add_argument("--doc", type=Path, default=ROOT / "docs" / "EVALUATION.md", help="the report file")
    report.add_argument("--labels", type=Path, default=LABELLED, help="labelled set for the detector table")


def run_make(args: argparse.Namespace, console: Console) -> int:
    if args.list:
        for scenario in suite():
            console.print(f"{scenario.name:22} {scenario.duration:5.0f} s {scenario.fps:4g} fps  {scenario.title}")
        for make in PATROL_SCENARIOS.values():
            patrol = make()
            console.print(f"{patrol.name:22} {patrol.duration:5.0f} s {patrol.fps:4g} fps  {patrol.title} "
                          f"({len(patrol.passes)} passes; only with --only {patrol.name})")
        for make in REPEAT_SCENARIOS.values():
            repeat = make()
            console.print(f"{repeat.name:22} {sum(repeat.durations):5.0f} s {repeat.fps:4g} fps  {repeat.title} "
                          f"({len(repeat.days)} days; only with --only {repeat.name})")
        return 0
    data = args.data or shared_data()
    try:
        by_name([n for n in args.only or [] if n not in ONLY_NAMED] or None)  # unknown names: refused early
    except ValueError as exc:
        raise ConfigError(f"{exc}, {', '.join(ONLY_NAMED)}") from None
    detector = load_detector(args.model)

    def done(scenario, truth) -> None:
        rates = ", ".join(f"{o['id']} detected {_rate(o['detected_rate'])}" for o in truth["objects"])
        console.print(f"[green]{scenario.name}[/green]: {scenario.duration:.0f} s at {scenario.fps:g} fps, "
                      f"{truth['passers']} passers-by; {rates}", highlight=False)

    try:
        truths = make_scenarios(args.out, Material(data, detector), args.only, done)
    except (ValueError, FileNotFoundError) as exc:
        raise ConfigError(str(exc)) from None
    weak = [(t["scenario"], o["id"], o["detected_rate"]) for t in truths for o in t["objects"]
            if o["detected_rate"] is not None and o["detected_rate"] < 0.5]
    for name, obj, rate in weak:
        console.print(f"[red]{name}: {obj} is detected in only {rate:.0%} of sampled frames; the scenario tests "
                      "the detector more than the pipeline[/red]")
    console.print(f"Suite config: {args.out / SUITE_FILE}  (streetorder process --config {args.out / SUITE_FILE} "
                  f"--out {args.out / 'run'})")
    for truth in truths:
        if truth.get("kind") == "patrol":
            folder = args.out / truth["scenario"]
            console.print(f"Patrol {truth['scenario']}: for each pass in order, streetorder process --config "
                          f"{folder}/pass-K.yaml --out {folder}/run (K = 1..{len(truth['passes'])})")
        if truth.get("kind") == "recordings":
            folder = args.out / truth["scenario"]
            console.print(f"{truth['scenario']}: for each day in order, streetorder process --config "
                          f"{folder}/day-K.yaml --out {folder}/run (K = 1..{len(truth['recordings'])})")
    return 1 if weak else 0


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def run_events(args: argparse.Namespace, console: Console) -> int:
    try:
        truth = read_truth(args.gt)
        events = read_events(args.pred)
    except ScoringInputError as exc:
        raise ConfigError(str(exc)) from None
    scores = score_events(truth, events, args.tolerance, args.min_iou)
    print_event_scores(console, scores, args.outcomes)
    if args.json:
        args.json.write_text(json.dumps(scores.to_json(), indent=1) + "\n", encoding="utf-8")
    return 0


def print_event_scores(console: Console, scores: EventScores, outcomes: bool = False) -> None:
    table = Table(title=f"Warn events against ground truth ({scores.camera_hours:.2f} camera-hours)")
    for name in EVENT_HEADER:
        table.add_column(name, justify="left" if name == "rule" else "right", no_wrap=name == "rule")
    for row in event_rows(scores):
        table.add_row(*row)
    console.print(table)
    if outcomes:
        detail = Table(title="Every object and every unmatched event")
        for name in OUTCOME_HEADER:
            detail.add_column(name)
        for row in outcome_rows(scores):
            detail.add_row(*row)
        console.print(detail)
    where = scores.overall.summary()
    if where["position_error_median"] is not None:
        console.print(f"Position of matched patrol warns against ground truth: median "
                      f"{where['position_error_median']:.2f} m, 95th percentile {where['position_error_p95']:.2f} m "
                      f"({len(scores.overall.position_errors)} warns)")
    ladder = ladder_line(scores.overall)
    if ladder:
        console.print(ladder, highlight=False)
    if scores.ignored_events:
        console.print(f"{scores.ignored_events} event(s) on cameras without ground truth were ignored.")


def run_detections(args: argparse.Namespace, console: Console) -> int:
    try:
        labelled = read_labelled(args.labels)
    except LabelError as exc:
        raise ConfigError(str(exc)) from None
    runs = DEFAULT_RUNS
    if args.runs:
        runs = []
        for item in args.runs:
            model, _, backend = item.partition(":")
            if backend not in BACKENDS:
                raise ConfigError(f"--run {item}: give MODEL:BACKEND with a backend of {', '.join(BACKENDS)}")
            runs.append((model, backend))
    rows = compare_detectors(labelled, runs, lambda row: console.print(f"scored {row.model} ({row.backend})"))
    if args.validator:
        rows.append(validator_row("yolo11n.pt", args.labels))
    print_detector_table(console, rows, len(labelled))
    if args.json:
        args.json.write_text(json.dumps([_detector_json(r) for r in rows], indent=1) + "\n", encoding="utf-8")
    return 0


def print_detector_table(console: Console, rows: list[DetectorRow], images: int) -> None:
    table = Table(title=f"COCO mAP on {images} labelled frames (faster-coco-eval)")
    for name in DETECTOR_HEADER:
        table.add_column(name, justify="left" if name in ("model", "backend") else "right")
    for row in detector_rows(rows):
        table.add_row(*row)
    console.print(table)


def _detector_json(row: DetectorRow) -> dict:
    if row.score is None:
        return {"model": row.model, "backend": row.backend, "note": row.note}
    return {"model": row.model, "backend": row.backend, "map50": row.score.map50, "map50_95": row.score.map50_95,
            "per_class": {k: vars(v) for k, v in row.score.per_class.items()}}


def run_suite(args: argparse.Namespace, console: Console) -> int:
    scores = _suite_scores(args, console)
    print_event_scores(console, scores, outcomes=True)
    return 0


def run_report(args: argparse.Namespace, console: Console) -> int:
    scores = _suite_scores(args, console)
    print_event_scores(console, scores, outcomes=True)
    labelled = read_labelled(args.labels)
    rows = compare_detectors(labelled, on_row=lambda row: console.print(f"scored {row.model} ({row.backend})"))
    rows.append(validator_row("yolo11n.pt", args.labels))
    print_detector_table(console, rows, len(labelled))
    doc = write_report(args.doc, args.suite, scores, rows, images=args.doc.parent / "images",
                       command="STREETORDER_MODEL_PATH=../shared/models .venv/bin/streetorder evaluate report",
                       labelled_note=LABELLED_NOTE)
    console.print(f"Report: {doc}")
    return 0


LABELLED_NOTE = ("The labels are ours: drafted from three models' merged detections, then checked, corrected and "
                 "completed by eye frame by frame (see `tests/data/labelled/README.md`).")


def _suite_scores(args: argparse.Namespace, console: Console) -> EventScores:
    """Render what is missing (or everything with --rerender), process the suite afresh, score it."""
    folder: Path = args.suite
    missing = [s.name for s in suite() if args.rerender or not (folder / s.name / "gt.json").is_file()]
    if missing:
        run_make(argparse.Namespace(out=folder, only=missing, list=False, data=args.data, model="yolo11n"), console)
    run_dir = folder / "run"
    if not args.reuse_run:
        shutil.rmtree(run_dir, ignore_errors=True)
        process = argparse.Namespace(config=folder / SUITE_FILE, out=run_dir, model=None, backend=None,
                                     start_time=None, camera=None, annotate=args.annotate, store=None)
        process_cmd.run(process, console)
    fixed = [s for s in read_truth(folder) if not isinstance(s, GeoTruthScenario)]  # patrols run pass by pass
    scores = score_events(fixed, read_events(run_dir / "events.jsonl"))
    (run_dir / "scores.json").write_text(json.dumps(scores.to_json(), indent=1) + "\n", encoding="utf-8")
    return scores
