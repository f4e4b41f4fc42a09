"""The layers of DESIGN.md, enforced: every import of every package is read (with ``ast``, nothing is imported)
and an import that reaches a package its layer may not use fails, naming the file, the line and the statement.

contracts <- models <- detector <- zones <- events <- review, with geo beside contracts (a leaf that imports only
contracts) and plates above detector; the sources of streams/ import only contracts, its composing modules use the
stages; product code never imports evaluation/; nothing imports the command line (streetorder/), which may use
everything, evaluation/ included (``streetorder evaluate`` and ``streetorder bench``).
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

LEAVES = frozenset({"contracts", "geo"})
STAGES = LEAVES | {"models", "detector", "plates", "zones", "events"}
EVERYTHING = STAGES | {"review", "streams", "evaluation"}
LAYERS: dict[str, frozenset[str]] = {  # what each package may import of ours, besides itself
    "contracts": frozenset(),
    "geo": frozenset({"contracts"}),
    "models": LEAVES,
    "detector": LEAVES | {"models"},
    "plates": LEAVES | {"models", "detector"},
    "zones": LEAVES | {"models", "detector", "plates"},
    "events": STAGES - {"events"},
    "review": LEAVES | {"events"},  # it works from the event store alone
    "streams": STAGES,  # the composing modules; the sources get STREAM_SOURCE_LAYER
    "evaluation": EVERYTHING - {"evaluation"},
    "streetorder": EVERYTHING,
}
OURS = frozenset(LAYERS) | {"tests"}
# streams/ modules that compose the stages (one camera's pipeline, the batch and live drivers, the state kept for
# restarts, the health surface, decoding ahead of detector workers, a PTZ camera's stages per preset, the cameras'
# detectors). Every other module of streams/ is a source.
STREAM_COMPOSITION = frozenset({"pipeline", "batch", "live_runner", "state", "health", "overlap", "config_rules",
                                "patrol", "view_stages", "segment_workers", "cluster_live", "cluster_batch", "rate",
                                "detectors"})
STREAM_SOURCE_LAYER = LEAVES


@dataclass(frozen=True)
class Import:
    """One module named by an import statement of one file."""

    path: Path  # relative to the tree's root
    line: int
    statement: str
    target: str  # the dotted module, e.g. "streams.files"

    def __str__(self) -> str:
        return f"{self.path.as_posix()}:{self.line}: `{self.statement}`"


def imports_of(path: Path, root: Path = ROOT) -> Iterator[Import]:
    """Every module of ours or not that ``path`` imports, anywhere in the file (functions and TYPE_CHECKING
    blocks included), relative imports resolved against the file's package."""
    source = path.read_text(encoding="utf-8")
    relative = path.relative_to(root)
    package = list(relative.parent.parts)
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            targets = [_submodule(root, module, alias.name) for alias in node.names]
        else:
            continue
        statement = " ".join((ast.get_source_segment(source, node) or "").split())
        for target in dict.fromkeys(targets):
            yield Import(relative, node.lineno, statement, target)


def _submodule(root: Path, module: str, name: str) -> str:
    """``from package import name``: the submodule ``package.name`` when it is one, else ``package``."""
    folder = root.joinpath(*module.split("."))
    if (folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file():
        return f"{module}.{name}"
    return module


def is_stream_source(module: list[str]) -> bool:
    return module[0] == "streams" and len(module) > 1 and module[1] not in STREAM_COMPOSITION | {"__init__"}


def crossing(imported: Import) -> str | None:
    """Why ``imported`` crosses a layer, or None when it does not."""
    importer = list(imported.path.with_suffix("").parts)
    target = imported.target.split(".")
    own, theirs = importer[0], target[0]
    if theirs not in OURS:
        return None
    if is_stream_source(importer):
        if theirs == "streams":
            return None if is_stream_source(target) or target == ["streams"] else (
                "a source of streams/ may not import the modules that compose the stages")
        allowed = STREAM_SOURCE_LAYER
        who = "a source of streams/"
    else:
        if theirs == own:
            return None
        allowed = LAYERS[own]
        who = f"{own}/"
    if theirs in allowed:
        return None
    return f"{who} may import only {', '.join(sorted(allowed))}" if allowed else f"{who} imports nothing of ours"


def crossings(package: str, root: Path = ROOT) -> list[str]:
    """Every layer crossing of ``package``, one line each."""
    found = []
    for path in sorted((root / package).rglob("*.py")):
        for imported in imports_of(path, root):
            reason = crossing(imported)
            if reason:
                found.append(f"{imported} crosses a layer of DESIGN.md: {reason}")
    return found


def present_packages(root: Path = ROOT) -> list[str]:
    return [name for name in LAYERS if (root / name / "__init__.py").is_file()]


@pytest.mark.parametrize("package", present_packages())
def test_no_import_crosses_a_layer(package):
    found = crossings(package)
    assert not found, "\n".join(found)


def test_every_package_has_a_layer():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    folders = [p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name != "tests"]
    unplaced = sorted(({name.split(".")[0] for name in declared} | set(folders)) - set(LAYERS))
    assert not unplaced, f"give {', '.join(unplaced)} a layer in tests/test_layers.py (LAYERS), after DESIGN.md"


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    for parent in path.relative_to(root).parents:
        if parent != Path("."):
            (root / parent / "__init__.py").touch()


def test_a_crossing_is_named_by_file_line_and_statement(tmp_path):
    write(tmp_path, "zones/rules.py", "import numpy\nfrom detector.detections import Detections\n\n"
                                      "def late():\n    from evaluation.bench import make_footage\n")
    assert crossings("zones", tmp_path) == [
        "zones/rules.py:5: `from evaluation.bench import make_footage` crosses a layer of DESIGN.md: zones/ may "
        "import only contracts, detector, geo, models, plates"]


def test_relative_imports_and_stream_sources_are_resolved(tmp_path):
    write(tmp_path, "streams/pipeline.py", "")
    write(tmp_path, "streams/frames.py", "")
    write(tmp_path, "streams/files.py", "from . import frames\nfrom . import pipeline\nfrom .frames import Frame\n")
    write(tmp_path, "streams/live.py", "from contracts.urls import mask_credentials\nimport detector.load\n")
    write(tmp_path, "streams/batch.py", "from .pipeline import run\nfrom events.store import EventStore\n")
    found = crossings("streams", tmp_path)
    assert [line.split(" crosses")[0] for line in found] == [
        "streams/files.py:2: `from . import pipeline`", "streams/live.py:2: `import detector.load`"]
    assert found[1].endswith("a source of streams/ may import only contracts, geo")


def test_contracts_import_nothing_of_ours_and_nothing_imports_the_command_line(tmp_path):
    write(tmp_path, "contracts/names.py", "from models.taxonomy import PERSON\n")
    write(tmp_path, "evaluation/report.py", "from streetorder.cli import main\nfrom streams.batch import run\n")
    assert crossings("contracts", tmp_path)[0].endswith("contracts/ imports nothing of ours")
    assert [line.split(":")[1] for line in crossings("evaluation", tmp_path)] == ["1"]
