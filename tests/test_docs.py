"""The documentation holds together from a plain clone: every relative link of README.md, CONTRIBUTING.md and
docs/*.md reaches a file (and heading) inside the repository, every file of ours they name (`streams/pipeline.py`)
exists, and docs/DESIGN.md is the design contract of ../shared/DESIGN.md, word for word."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED

PAGES = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
FOLDERS = ("contracts", "geo", "models", "detector", "plates", "zones", "events", "review", "streams", "evaluation",
           "streetorder", "tests", "scripts", "docs", "examples", ".ci")


def prose(markdown: str) -> str:
    """``markdown`` without code blocks and code spans, whose brackets are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", markdown))


def relative_links(markdown: str) -> list[str]:
    """The link and image targets of ``markdown`` that point into the repository (not web addresses).

    >>> relative_links("[a](docs/A.md#x) ![p](images/p.png) [w](https://x.org) `[c](no.md)` [t](#top)")
    ['docs/A.md#x', 'images/p.png', '#top']
    """
    return [t for t in LINK.findall(prose(markdown)) if not re.match(r"[a-z][a-z0-9+.-]*:", t, re.I)]


def anchors(markdown: str) -> set[str]:
    """The heading anchors GitHub gives ``markdown``'s headings.

    >>> sorted(anchors("# Live cameras (`streetorder run`)\\n## Health and metrics\\n"))
    ['health-and-metrics', 'live-cameras-streetorder-run']
    """
    found = set()
    for heading in HEADING.findall(FENCE.sub("", markdown)):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").strip().lower()
        found.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return found


def broken_links(page: Path) -> list[str]:
    """One line per link of ``page`` whose file is missing or outside the repository, or whose heading is not
    in it."""
    broken = []
    for target in relative_links(page.read_text(encoding="utf-8")):
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        where = f"{page.relative_to(ROOT)}: link ({target})"
        if not path.is_relative_to(ROOT):
            broken.append(f"{where} leaves the repository, so a plain clone lacks it; copy the file into docs/")
        elif not path.exists():
            broken.append(f"{where}: {path.relative_to(ROOT)} does not exist")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path.read_text(encoding="utf-8")):
            broken.append(f"{where}: {path.relative_to(ROOT)} has no heading #{anchor}")
    return broken


def named_paths(markdown: str) -> list[str]:
    """Paths of the repository that ``markdown`` names in code spans outside code blocks (no patterns, no
    placeholders).

    >>> named_paths("`streams/pipeline.py` and `evidence/<camera>/x.jpg`, `models/*.pt`, `OUT/events.db`")
    ['streams/pipeline.py']
    """
    spans = re.findall(r"`([^`\n]+)`", FENCE.sub("", markdown))
    return [s for s in spans if "/" in s and s.split("/")[0] in FOLDERS and not re.search(r"[*<>{}\s]", s)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_named_exists(page):
    missing = [path for path in named_paths(page.read_text(encoding="utf-8")) if not (ROOT / path).exists()]
    assert not missing, f"{page.relative_to(ROOT)} names files that do not exist (moved?): {', '.join(missing)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = broken_links(page)
    assert not broken, "\n".join(broken)


def test_a_missing_file_a_missing_heading_and_a_link_out_of_the_clone_are_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "LIVE.md").write_text("# Live\n\n## Health and metrics\n")
    page = tmp_path / "README.md"
    page.write_text("[ok](docs/LIVE.md#health-and-metrics) [gone](docs/GONE.md) [no](docs/LIVE.md#metrics)\n"
                    "[out](../shared/DESIGN.md)\n```\n[code](not-a-link.md)\n```\n")
    assert broken_links(page) == [
        "README.md: link (docs/GONE.md): docs/GONE.md does not exist",
        "README.md: link (docs/LIVE.md#metrics): docs/LIVE.md has no heading #metrics",
        "README.md: link (../shared/DESIGN.md) leaves the repository, so a plain clone lacks it; copy the file into "
        "docs/"]


def test_the_design_contract_in_docs_is_the_shared_one():
    shared = SHARED / "DESIGN.md"
    if not shared.is_file():
        pytest.skip(f"{shared} is absent (a plain clone): nothing to compare docs/DESIGN.md with")
    copy = ROOT / "docs" / "DESIGN.md"
    assert copy.is_file() and copy.read_bytes() == shared.read_bytes(), (
        f"docs/DESIGN.md differs from {shared}: copy it (cp {shared} docs/DESIGN.md) and commit the copy")
