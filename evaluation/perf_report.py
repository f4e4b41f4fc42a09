"""`streetorder bench`'s figures as rows of text (shared by the terminal and docs/PERFORMANCE.md), the targets they
are judged against, and the Markdown report with its plot, written from the saved JSON alone.

Example:
    >>> targets({"capacity": [{"series": "360p-keyframes-int8", "kind": "360p", "sustained_cameras": 141}],
    ...          "naive": {"cameras": 0.6}, "batch": []})[0]
    ['live, best setting, busy street', '>= 200x the naive loop', '235x (141 cameras, 360p-keyframes-int8)', 'met']
"""

from __future__ import annotations

from pathlib import Path

from evaluation.bench_speed import DEFAULT
from evaluation.tables import markdown

# the targets of issue 18, on 640x360 sub-streams at analysis_fps 1: cameras as a multiple of the naive loop's
BEST_RATIO_TARGET = 200.0  # with the best setting
DEFAULT_RATIO_TARGET = 130.0  # with the settings a user gets by default (series named "...-default")
MEMORY_TARGET = (150, 4.0)  # cameras that must fit in GiB of resident memory
BATCH_TARGET = 100.0  # times real time on a 1080p recording at analysis_fps 1
QUIET = "-quiet"  # in a series' footage kind: the quiet street (evaluation/bench_adaptive.py)


def decode_rows(runs: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = ["stream", "decoded", "frames/s", "CPU ms per video s", "share of a core", "cameras per core"]
    rows = [[r["footage"], "key frames only" if r["keyframes_only"] else "all frames",
             f"{r['frames'] / r['video_s']:.1f}", f"{1000 * r['cpu_share']:.1f}", f"{100 * r['cpu_share']:.2f} %",
             f"{1 / r['cpu_share']:.0f}"] for r in runs]
    return header, rows


def stage_rows(stages: list[dict]) -> tuple[list[str], list[list[str]]]:
    """One row per stage, two columns per footage: ms, and share of an analysed frame's total (see ``per_frame``)."""
    header = ["stage"] + [f"{s['footage']} {what}" for s in stages for what in ("ms", "share")]
    names = list(dict.fromkeys(name for s in stages for name in s["ms"]))
    rows = []
    for name in names:
        row = [name]
        for s in stages:
            total = sum(v for k, v in s["ms"].items() if per_frame(k))
            ms = s["ms"].get(name)
            share = "-" if ms is None or not per_frame(name) else f"{100 * ms / total:.0f} %"
            row += ["-" if ms is None else f"{ms:.1f}", share]
        rows.append(row)
    return header, rows


def per_frame(stage: str) -> bool:
    """Whether a stage is paid on every analysed frame (with key-frame decoding): not the all-frames decode, which
    is the alternative, nor evidence photos, which are paid per event."""
    return not stage.startswith(("decode (all", "evidence"))


def inference_rows(runs: list[dict], accuracy: dict[str, dict] | None = None,
                   workers: int = 2) -> tuple[list[str], list[list[str]]]:
    header = ["setting", "input", "ms per frame (1 thread)", f"frames/s ({workers} workers)", "vs default",
              "mAP50-95", "cost"]
    base = next((r for r in runs if r["setting"] == DEFAULT), runs[0]) if runs else None
    base_map = _map(accuracy, DEFAULT)
    rows = []
    for r in runs:
        value = _map(accuracy, r["setting"])
        cost = "-" if value is None or base_map is None else f"{100 * (value - base_map):+.1f}"
        rows.append([r["label"], f"{r['shape'][1]}x{r['shape'][0]}", f"{r['ms']:.1f}", f"{r['fps_workers']:.1f}",
                     f"{r['fps_workers'] / base['fps_workers']:.2f}x", "-" if value is None else f"{value:.3f}",
                     cost])
    return header, rows


def _map(accuracy: dict[str, dict] | None, setting: str) -> float | None:
    run = (accuracy or {}).get(setting)
    return None if not run or not run.get("detections") else run["detections"]["map50_95"]


def capacity_rows(series: list[dict], naive_cameras: float | None) -> tuple[list[str], list[list[str]]]:
    header = ["source", "decoded", "setting", "cameras sustained", "CPU cores at that count", "detector ms/frame",
              "x naive loop", "MiB per camera", "150 cameras in 4 GiB"]
    baseline = _baseline(series)
    rows = []
    for s in series:
        best = s["sustained_cameras"]
        at = [r for r in s["runs"] if r["cameras"] == best]
        cpu = f"{sorted(r['cpu_cores'] for r in at)[len(at) // 2]:.2f}" if at else "-"
        ms = f"{sorted(r['detector_ms'] for r in at)[len(at) // 2]:.0f}" if at else "-"
        ratio = f"{best / naive_cameras:.0f}x" if naive_cameras else "-"
        source = s["source"] + (", quiet street" if s.get("kind", "").endswith(QUIET) else "")
        rows.append([source, s["decoded"], s["setting"], str(best), cpu, ms, ratio, *_memory(at, baseline)])
    return header, rows


def _baseline(series: list[dict]) -> float | None:
    """The smallest resident memory before a capacity run's cameras started: the process with one model loaded.
    Later runs' baselines hold every model and footage the bench measured so far, a deployment's one model."""
    return min((r["rss_baseline_mb"] for s in series for r in s.get("runs", []) if r.get("rss_mb")), default=None)


def _memory(runs: list[dict], baseline: float | None) -> list[str]:
    """MiB of resident memory per camera at the sustained count (median run) and whether 150 such cameras fit in
    4 GiB beside ``baseline``; "-" for reports measured before memory was."""
    runs = sorted((r for r in runs if r.get("rss_mb")), key=lambda r: r["rss_mb"] - r["rss_baseline_mb"])
    if not runs or baseline is None:
        return ["-", "-"]
    run = runs[len(runs) // 2]
    total = _memory_for_target(run, baseline)
    return [f"{_mb_per_camera(run):.1f}",
            f"{'yes' if total <= MEMORY_TARGET[1] * 1024 else 'no'} ({total / 1024:.1f} GiB)"]


def _mb_per_camera(run: dict) -> float:
    return (run["rss_mb"] - run["rss_baseline_mb"]) / max(run["cameras"], 1)


def _memory_for_target(run: dict, baseline: float) -> float:
    """MiB that ``MEMORY_TARGET``'s cameras would hold at ``run``'s memory per camera, beside ``baseline``."""
    return baseline + MEMORY_TARGET[0] * _mb_per_camera(run)


def batch_rows(runs: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = ["setting", "decoded", "analysed frames", "video", "wall", "x real time"]
    rows = [[r["label"], "key frames only" if r["keyframes_only"] else "all frames", str(r["frames"]),
             f"{r['video_s']:.0f} s", f"{r['wall_s']:.1f} s", f"{r['video_s'] / r['wall_s']:.1f}"] for r in runs]
    return header, rows


def accuracy_rows(runs: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = ["setting", "mAP50", "mAP50-95", "vs default", "suite warns matched / expected", "false alarms",
              "duplicates", "warn error median / worst", "frames detected", "code"]
    base = next((r for r in runs if r["setting"] == DEFAULT and r["detections"]), None)
    rows = []
    for r in runs:
        d, e = r["detections"], r["events"]
        delta = "-" if not d or not base else f"{100 * (d['map50_95'] - base['detections']['map50_95']):+.1f}"
        row = [r["label"], f"{d['map50']:.3f}" if d else "-", f"{d['map50_95']:.3f}" if d else "-", delta]
        if e:
            o = e["overall"]
            err = ("-" if o["warn_error_median"] is None
                   else f"{o['warn_error_median']:+.1f} / {o['warn_error_worst']:+.1f} s")
            row += [f"{o['matched']} / {o['expected']}", str(o["false_alarms"]), str(o["duplicates"]), err,
                    f"{e['inferred']} of {e['frames']}"]
        else:
            row += ["not run", "-", "-", "-", "-"]
        rows.append([*row, r["code"]])
    return header, rows


def targets(report: dict) -> list[list[str]]:
    """[target, asked, measured, verdict] for each of the issue's targets that the report measured: the live ratios
    on the busy and on the quiet street apart (a real street spends its hours between the two), memory, batch."""
    rows = []
    naive = (report.get("naive") or {}).get("cameras")
    subs = [s for s in report.get("capacity", []) if s.get("kind", "").startswith("360p")]
    for street, quiet in (("busy street", False), ("quiet street", True)):
        for which, asked, default in (("best setting", BEST_RATIO_TARGET, False),
                                      ("default settings", DEFAULT_RATIO_TARGET, True)):
            series = [s for s in subs if s["kind"].endswith(QUIET) == quiet
                      and (not default or s["series"].endswith("-default"))]
            if not naive or not series:
                continue
            best = max(series, key=lambda s: s["sustained_cameras"])
            ratio = best["sustained_cameras"] / naive
            rows.append([f"live, {which}, {street}", f">= {asked:g}x the naive loop",
                         f"{ratio:.0f}x ({best['sustained_cameras']} cameras, {best['series']})",
                         "met" if ratio >= asked else "missed"])
    memory = [r for s in report.get("capacity", []) for r in s.get("runs", []) if r.get("rss_mb")]
    if memory:
        cameras, gib = MEMORY_TARGET
        run = max(memory, key=lambda r: r["cameras"])  # the cameras' memory from the largest run (``_baseline``)
        total = _memory_for_target(run, _baseline(report["capacity"]))
        rows.append([f"memory, {cameras} cameras", f"<= {gib:g} GiB", f"{total / 1024:.1f} GiB (from "
                     f"{run['cameras']} cameras)", "met" if total <= gib * 1024 else "missed"])
    for street, quiet in (("busy street", False), ("quiet street", True)):
        runs = [r for r in report.get("batch", []) if ("quiet street" in r["label"]) == quiet]
        if runs:
            best = max(runs, key=lambda r: r["video_s"] / r["wall_s"])
            speed = best["video_s"] / best["wall_s"]
            rows.append([f"batch, 1080p recording, {street}", f">= {BATCH_TARGET:g}x real time",
                         f"{speed:.1f}x ({best['label']})", "met" if speed >= BATCH_TARGET else "missed"])
    return rows


TARGET_HEADER = ["target", "asked", "measured", "verdict"]


def plot(report: dict, path: Path) -> Path:
    """Cameras sustained per series next to the naive loop, and batch speed per setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (live, batch) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
    names = [f"{s['source']}\n{s['decoded']}\n{s['setting']}" for s in report.get("capacity", [])]
    values = [s["sustained_cameras"] for s in report.get("capacity", [])]
    if report.get("naive"):
        names.insert(0, "naive loop\n360p, every frame\nYOLO.track")
        values.insert(0, report["naive"]["cameras"])
    live.bar(range(len(values)), values, color=["#999999"] + ["#3070b0"] * (len(values) - 1))
    live.set_xticks(range(len(values)), names, fontsize=7)
    live.set_ylabel("cameras sustained at analysis_fps 1")
    naive = (report.get("naive") or {}).get("cameras")
    for name, ratio, colour in (("best", BEST_RATIO_TARGET, "#c04040"), ("default", DEFAULT_RATIO_TARGET, "#e09040")):
        if naive:
            live.axhline(ratio * naive, color=colour, linestyle="--", linewidth=1)
            live.text(len(values) - 0.5, ratio * naive, f"target, {name}: {ratio:g}x naive", fontsize=7,
                      va="bottom", ha="right")
    runs = report.get("batch", [])
    batch.barh(range(len(runs)), [r["video_s"] / r["wall_s"] for r in runs], color="#50a050")
    batch.set_yticks(range(len(runs)), [f"{r['label']}\n{'key frames' if r['keyframes_only'] else 'all frames'}"
                                        for r in runs], fontsize=7)
    batch.axvline(BATCH_TARGET, color="#c04040", linestyle="--", linewidth=1)
    batch.set_xlabel("x real time, 1080p recording (target 100x)")
    figure.suptitle(f"streetorder bench, {report.get('machine', '')}", fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_doc(path: Path, report: dict, accuracy: list[dict], intro: str, notes: str) -> Path:
    """docs/PERFORMANCE.md from the saved figures: ``intro`` and ``notes`` are the hand-written reading."""
    by_setting = {r["setting"]: r for r in accuracy}
    image = plot(report, path.parent / "images" / "performance.png")
    parts = [intro.strip(), "", f"![cameras and batch speed]({image.relative_to(path.parent).as_posix()})", "",
             f"Measured {report.get('started', '?')}: {report.get('machine', '')} at the start, "
             f"{report.get('finished_machine', '')} at the end.", "", "## Targets", "",
             markdown(TARGET_HEADER, targets(report))]
    sections = [
        ("Where one analysed frame's time goes", stage_rows(report["stages"]) if report.get("stages") else None),
        ("Decode cost per live camera", decode_rows(report["decode"]) if report.get("decode") else None),
        ("Inference per setting", inference_rows(report["inference"], by_setting, report.get("workers", 2))
         if report.get("inference") else None),
        ("Cameras sustained (live loop, analysis_fps 1)",
         capacity_rows(report["capacity"], (report.get("naive") or {}).get("cameras"))
         if report.get("capacity") else None),
        ("Batch speed (`streetorder process`, analysis_fps 1)", batch_rows(report["batch"])
         if report.get("batch") else None),
        ("Accuracy cost of each setting", accuracy_rows(accuracy) if accuracy else None),
    ]
    for title, table in sections:
        if table is not None:
            parts += ["", f"## {title}", "", markdown(*table)]
    if report.get("naive"):
        n = report["naive"]
        parts += ["", f"The naive loop (`YOLO(\"yolo11n.pt\").track(source, stream=True)`, every frame of the "
                      f"640x360 25 fps footage): {n['fps']:.1f} frames/s, that is {n['cameras']:.2f} camera(s)."]
    parts += ["", notes.strip(), ""]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
