"""Config mistakes as sentences: pydantic's error list turned into "file: camera, zone: field: problem (line N)".

The line numbers come from the YAML parser's own node tree: ``YamlLines.load`` parses the file once with PyYAML's
safe loader, keeps the nodes (each knows where it starts) and builds the values from them, so the values are the
same as ``yaml.safe_load``'s and a pydantic error location (``('cameras', 0, 'zones', 1, 'type')``) can be walked
down the same tree.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from contracts.errors import UserError


class ConfigError(UserError, ValueError):
    """A config problem, worded for the person who wrote the file."""


REFERENCE_HINT = "see docs/CONFIG.md or run `streetorder docs`"
# Bounds of a YAML document that can be a config: an alias bomb or a 10^6-corner polygon is refused before any of
# it is built (a few aliases, nesting a config never needs, values at most a few hundred thousand once expanded).
MAX_DOCUMENT_CHARS = 2_000_000
MAX_ALIASES = 100
MAX_DEPTH = 40
MAX_EXPANDED_NODES = 300_000


if yaml.__with_libyaml__:
    class _SafeLoader(yaml.composer.Composer, yaml.CSafeLoader):
        """libyaml's parser (several times faster on a large file) with PyYAML's composer, where the bounds are
        checked: the same nodes and values as ``yaml.SafeLoader``'s."""

        def __init__(self, text: str):
            yaml.CSafeLoader.__init__(self, text)
            yaml.composer.Composer.__init__(self)
else:
    _SafeLoader = yaml.SafeLoader


class DocumentRefused(ValueError):
    """A YAML document that is not read: the message says why and what to do (the loader adds the file's name)."""


class _BoundedLoader(_SafeLoader):
    """The safe loader composing within the bounds above, refusing a key given twice in one mapping."""

    def __init__(self, text: str):
        super().__init__(text)
        self.aliases = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                line = self.peek_event().start_mark.line + 1
                raise DocumentRefused(f"has more than {MAX_ALIASES} aliases (*name) at line {line}; a config needs "
                                      "few: write the values out")
            return super().compose_node(parent, index)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            line = self.peek_event().start_mark.line + 1
            raise DocumentRefused(f"nests lists and mappings more than {MAX_DEPTH} deep at line {line}; a config "
                                  "needs less than 10: check the brackets and the indentation")
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if isinstance(node, yaml.MappingNode):
            _check_unique_keys(node)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """PyYAML's value of ``node``; a date or a number it cannot make (2026-13-45, 5000 digits) is refused
        with its line instead of escaping as a bare ``ValueError``."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            if isinstance(exc, DocumentRefused):
                raise
            value = node.value if isinstance(node, yaml.ScalarNode) else "a value"
            shown = repr(value) if len(value) <= 40 else f"{value[:30]!r}..."
            reason = str(exc).split(":")[0]
            raise DocumentRefused(f"{shown} at line {node.start_mark.line + 1} cannot be read ({reason}); write dates"
                                  " as YYYY-MM-DD, times as YYYY-MM-DDTHH:MM:SS, numbers with fewer digits, or quote "
                                  "it as text") from None


def _check_unique_keys(node: yaml.MappingNode) -> None:
    seen: dict[tuple[str, str], int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
            continue
        key, line = (key_node.tag, key_node.value), key_node.start_mark.line + 1
        if key in seen:
            raise DocumentRefused(f"key {key_node.value!r} is given twice in one mapping (lines {seen[key]} and "
                                  f"{line}); keep one (the last would silently win)")
        seen[key] = line


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a tree whose aliases expand it beyond ``MAX_EXPANDED_NODES`` values or ``MAX_DEPTH`` levels, or that
    holds itself; each shared node is measured once, so a bomb is refused without being expanded."""
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (values once expanded, levels below it)
    open_nodes: set[int] = set()

    def measure(node: yaml.Node, depth: int) -> tuple[int, int]:
        if depth > MAX_DEPTH:
            raise DocumentRefused(f"nests lists and mappings more than {MAX_DEPTH} deep through its aliases (line "
                                  f"{node.start_mark.line + 1}); write the values out")
        if id(node) in measured:
            size, height = measured[id(node)]
        elif isinstance(node, yaml.ScalarNode):
            size, height = 1, 0
        else:
            if id(node) in open_nodes:
                raise DocumentRefused(f"has an alias inside the value it names (line {node.start_mark.line + 1}); "
                                      "a config value cannot contain itself")
            open_nodes.add(id(node))
            children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
            size, height = 1, 0
            for child in children:
                child_size, child_height = measure(child, depth + 1)
                size, height = size + child_size, max(height, child_height + 1)
            open_nodes.discard(id(node))
            measured[id(node)] = size, height
        if size > MAX_EXPANDED_NODES:
            raise DocumentRefused(f"expands to more than {MAX_EXPANDED_NODES:,} values (through its aliases or "
                                  "its size); a config is far smaller: write the values out or split the cameras")
        if depth + height > MAX_DEPTH:
            raise DocumentRefused(f"nests lists and mappings more than {MAX_DEPTH} deep through its aliases (line "
                                  f"{node.start_mark.line + 1}); write the values out")
        return size, height

    measure(root, 0)


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
        """The document's values (as ``yaml.safe_load`` gives them) and its line map. Raises ``DocumentRefused``
        for a document too large, too deep or with too many aliases to be a config (see ``_BoundedLoader``), or
        with a key given twice in one mapping."""
        if len(text) > MAX_DOCUMENT_CHARS:
            raise DocumentRefused(f"is {len(text) / 1e6:.1f} MB; a config has at most {MAX_DOCUMENT_CHARS // 10**6} "
                                  "MB (draw zones with fewer corners)")
        loader = _BoundedLoader(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                _check_expansion(node)
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
            message = "ids may use only letters, digits, '.', '_' and '-', and cannot be '.' or '..'"
        elif error["type"] == "finite_number":
            message = f"{error['input']!r} is not a finite number; write a plain number (not nan, inf or beyond 1e308)"
        elif error["type"] == "literal_error" and field == "kind":
            message = "kind must be 'fixed', 'vehicle' or 'drone'"
        elif error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            ctx = error.get("ctx", {})
            message = (f"unknown type {ctx['tag']!r}; use one of {ctx.get('expected_tags')}" if "tag" in ctx
                       else f"its type is missing; add type: ({REFERENCE_HINT})")
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
        if key in ("cameras", "presets", "zones") and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            items = node.get(key) if isinstance(node, dict) else None
            item = items[loc[i + 1]] if isinstance(items, list) and loc[i + 1] < len(items) else None
            label = key.removesuffix("s")
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


def read_config_text(path: Path) -> str:
    """The file's text, or a ``ConfigError`` saying why it cannot be read as a config."""
    try:
        if path.is_file() and path.stat().st_size > MAX_DOCUMENT_CHARS * 4:  # UTF-8: at most 4 bytes a character
            raise ConfigError(f"{path}: is {path.stat().st_size / 1e6:.0f} MB, not a config file; check the path "
                              "given to --config")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file; check the path given to --config") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file; give the path of the YAML file in it") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8 (a config "
                          "is a YAML text file)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}); check the path and its permissions"
                          ) from None


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(value: Any, name: str, lines: YamlLines, loc: tuple = ()) -> Any:
    """Replace ``${VAR}`` in strings, so passwords can stay out of the file."""
    if isinstance(value, dict):
        return {k: expand_env(v, name, lines, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, name, lines, (*loc, i)) for i, v in enumerate(value)]
    if isinstance(value, str):
        def lookup(match: re.Match) -> str:
            if match[1] not in os.environ:
                raise ConfigError(f"{name}: environment variable {match[1]} is used but not set; export it first"
                                  f"{lines.suffix(loc)}")
            return os.environ[match[1]]

        return _ENV.sub(lookup, value)
    return value
