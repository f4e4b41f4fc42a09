"""Render the scenario suite into a folder: one sub-folder per scenario, and ``suite.yaml`` listing them all so one
``streetorder process --config OUT/suite.yaml`` runs the whole suite.

Example:
    >>> material = Material(Path("../shared/data"), load_detector("yolo11n"))   # doctest: +SKIP
    >>> make_scenarios(Path("out/scenarios"), material, ["sidewalk-long"])      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from evaluation.material import Material
from evaluation.patrol import PATROL_SCENARIOS, PatrolBuilder, PatrolScenario
from evaluation.repeat_offender import REPEAT_SCENARIOS, RepeatBuilder, RepeatScenario
from evaluation.scenario import VERIFY_EVERY_S, Builder, Scenario
from evaluation.suite import by_name

SUITE_FILE = "suite.yaml"
ONLY_NAMED = {**PATROL_SCENARIOS, **REPEAT_SCENARIOS}  # run recording by recording: rendered only when named


def make_scenarios(out: Path, material: Material, names: list[str] | None = None,
                   on_done: Callable[[Scenario, dict], None] | None = None,
                   scenarios: list[Scenario] | None = None, verify_every: float = VERIFY_EVERY_S) -> list[dict]:
    """Render ``scenarios`` (default: the suite's ``names``, or all of it) and rewrite ``suite.yaml``; returns their
    ground truths. Patrol and repeat-offender scenarios (``ONLY_NAMED``) are rendered only when named: they are run
    pass by pass or day by day, not through ``suite.yaml``."""
    out.mkdir(parents=True, exist_ok=True)
    patrols = [ONLY_NAMED[n]() for n in names or [] if n in ONLY_NAMED]
    fixed = [n for n in names or [] if n not in ONLY_NAMED]
    if scenarios is None:
        scenarios = by_name(fixed) if fixed or not patrols else []
    builder = Builder(material, verify_every)
    truths = []
    for scenario in [*scenarios, *patrols]:
        render = builder.render
        if isinstance(scenario, PatrolScenario):
            render = PatrolBuilder(material).render
        elif isinstance(scenario, RepeatScenario):
            render = RepeatBuilder(material).render
        truth = render(scenario, out / scenario.name)
        truths.append(truth)
        if on_done:
            on_done(scenario, truth)
    write_suite_config(out)
    return truths


def write_suite_config(out: Path) -> Path:
    """``suite.yaml``: every scenario folder's camera, its source made relative to ``out``."""
    cameras = []
    for config in sorted(out.glob("*/cameras.yaml")):
        for camera in yaml.safe_load(config.read_text(encoding="utf-8"))["cameras"]:
            camera["source"] = f"{config.parent.name}/{camera['source']}"
            cameras.append(camera)
    path = out / SUITE_FILE
    path.write_text(yaml.safe_dump({"cameras": cameras}, sort_keys=False, default_flow_style=None), encoding="utf-8")
    return path
