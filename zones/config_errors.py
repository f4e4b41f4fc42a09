"""Config mistakes as sentences: pydantic's error list turned into "file: camera, zone: field: problem (line N)".

The line numbers come from the YAML parser's own node tree: ``YamlLines.load`` parses the file once with PyYAML's
safe loader, keeps the nodes (each knows where it starts) and builds the values from them, so the values are the
same as ``yaml.safe_load``'s and a pydantic error location (``('cameras', 0, 'zones', 1, 'type')``) can be walked
down the same tree.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

REFERENCE_HINT = "see docs/CONFIG.md or run `streetorder docs`"


class YamlLines:
    """Line numbers of a YAML document's keys and items, looked up by a pydantic error location.

    Example:
        >>> raw, lines = YamlLines.load("cameras:\\n  - id: a\\n    fps: 5\\n")
        >>> raw, lines.line(("cameras", 0, "fps")), lines.suffix(("cameras", 0))
        ({'cameras': [{'id': 'a', 'fps': 5}]}, 3, ' (line 2)')
    """

    def __init__(self, root: yaml.Node | None):
        self.root = root

    @classmethod
    def load(cls, text: str) -> tuple[Any, YamlLines]:
        """The document's values (as ``yaml.safe_load`` gives them) and its line map."""
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
        return data, cls(node)

    @classmethod
    def none(cls) -> YamlLines:
        """No line numbers (a config given as a mapping, not read from a file)."""
        return cls(None)

    def line(self, loc: tuple) -> int | None:
        """1-based line of the deepest part of ``loc`` found in the file (a missing key: its mapping's line)."""
        node, line = self.root, None
        for key in loc:
            child = _child(node, key)
            if child is None:
                break
            line, node = child
        return line

    def suffix(self, loc: tuple) -> str:
        """``" (line N)"``, or "" where the line is unknown."""
        line = self.line(loc)
        return f" (line {line})" if line else ""


def _child(node: yaml.Node | None, key: Any) -> tuple[int, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return key_node.start_mark.line + 1, value_node
    elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        item = node.value[key]
        return item.start_mark.line + 1, item
    return None


def describe(exc: ValidationError, raw: dict, name: str, lines: YamlLines) -> str:
    """Turn pydantic's error list into sentences that name the camera and zone by id and the line."""
    sentences = []
    for error in exc.errors():
        where, field = _location(error["loc"], raw)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f"unknown key {field!r}; check its spelling ({REFERENCE_HINT})"
            field = ""
        elif error["type"] == "missing":
            message = f"{field!r} is missing; add it"
            field = ""
        elif error["type"] == "string_pattern_mismatch":
            message = "ids may use only letters, digits, '.', '_' and '-'"
        elif error["type"] == "literal_error" and field == "kind":
            message = "kind must be 'fixed', 'vehicle' or 'drone'"
        prefix = ", ".join(where)
        head = f"{name}: {prefix}: " if prefix else f"{name}: "
        sentences.append(f"{head}{field + ': ' if field else ''}{message}{lines.suffix(error['loc'])}")
    return "\n".join(dict.fromkeys(sentences))


def _location(loc: tuple, raw: dict) -> tuple[list[str], str]:
    """('cameras', 0, 'zones', 1, 'type') -> (["camera 'cam-01'", "zone 'walk'"], 'type')."""
    where: list[str] = []
    node: Any = raw
    field = ""
    i = 0
    while i < len(loc):
        key = loc[i]
        if key in ("cameras", "zones") and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            items = node.get(key) if isinstance(node, dict) else None
            item = items[loc[i + 1]] if isinstance(items, list) and loc[i + 1] < len(items) else None
            label = "camera" if key == "cameras" else "zone"
            ident = item.get("id") if isinstance(item, dict) else None
            where.append(f"{label} {ident!r}" if ident else f"{label} #{loc[i + 1] + 1}")
            node = item
            i += 2
            continue
        if isinstance(key, str):
            field = f"{field}.{key}" if field else key
        elif field:
            field = f"{field}[{key}]"
        node = node.get(key) if isinstance(node, dict) else None
        i += 1
    return where, field
