"""The zone editor's two ends: the camera's picture to draw on, and saving polygons into the config YAML.

Saving edits the operator's file in place with ruamel.yaml's round trip, so comments, key order, quoting and the
zones nobody touched stay as written; the result must pass ``zones.config.parse_config`` (the loader's own
one-sentence errors) and fit the camera's frame before it replaces the file, atomically. The loader and the frame
reader come from outside (``ConfigRules``, composed by ``streetorder review serve``): review/ works from the store
alone and knows nothing of sources or zone geometry.

The zones are drawn on the camera's reference view (``reference:``, docs/CAMERA_MOVES.md) when it has one, else on
the first frame of its video file; a save of changed zones over that first frame also writes the frame as the
camera's reference (``REFERENCE_FOLDER``/<camera>.jpg beside the config) and sets the key, so the pipeline's view
check takes the view the zones were drawn on. A newest evidence photo (live cameras) has outlines drawn on it and is
never written as a reference.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from contracts.errors import UserError

EDITED_KEYS = ("type", "polygon", "warn_after")
REFERENCE_FOLDER = "cameras"  # where a save writes a camera's reference view, relative to the config file


class ZoneEditError(UserError, ValueError):
    """A save that was refused; the message is the sentence to show the admin."""


class ConfigRules(Protocol):
    """What the zone editor needs of the config layer; each method raises ``UserError`` with the loader's sentence."""

    def check_file(self, path: Path) -> None:
        """Load and validate the config file as the pipeline would."""

    def check_text(self, text: str, path: Path, camera_id: str, frame_size: tuple[int, int] | None) -> None:
        """Validate ``text`` as the new content of ``path``; the camera's zones must fit ``frame_size``."""

    def first_frame(self, path: Path, camera_id: str) -> np.ndarray | None:
        """A clean first frame of the camera's video file, or None (no such camera, a live source, unreadable)."""


@dataclass(frozen=True)
class ZoneEdit:
    """One zone as the editor sends it (``warn_after`` empty: inherit from the camera or the defaults)."""

    id: str
    type: str
    polygon: list[tuple[float, float]]
    warn_after: str | None = None


@dataclass(frozen=True)
class CameraPicture:
    jpeg: bytes
    width: int
    height: int
    origin: str  # where the picture comes from, said to the admin


@dataclass(frozen=True)
class SaveResult:
    version: str
    added: list[str]
    changed: list[str]
    removed: list[str]

    def sentence(self, camera_id: str) -> str:
        parts = [f"{verb} {', '.join(ids)}" for verb, ids in
                 (("added", self.added), ("changed", self.changed), ("removed", self.removed)) if ids]
        return f"camera {camera_id}: " + ("; ".join(parts) if parts else "no change")


class ZoneFile:
    """The config YAML given to ``streetorder review serve --config``.

    Example:
        >>> zones = ZoneFile("cameras.yaml", rules)  # doctest: +SKIP
        >>> zones.save("cam-01", [ZoneEdit("walk", "sidewalk", [(0, 300), (640, 300), (640, 352)])],
        ...            zones.version())  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, rules: ConfigRules):
        self.path = Path(path)
        self.rules = rules
        rules.check_file(self.path)  # a broken file is reported when the app starts, not on first save
        self._parsed: tuple[tuple[int, int], dict] | None = None

    def version(self) -> str:
        """A fingerprint of the file as it is now: a save from an editor opened on another version is refused."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]

    def camera_ids(self) -> list[str]:
        return [str(c.get("id")) for c in self._raw().get("cameras") or [] if isinstance(c, dict)]

    def zones_of(self, camera_id: str) -> list[dict[str, Any]]:
        """The camera's zones as written in the file (``warn_after`` as its text, e.g. ``"8m"``)."""
        camera = next((c for c in self._raw().get("cameras") or []
                       if isinstance(c, dict) and str(c.get("id")) == camera_id), None)
        if camera is None:
            raise ZoneEditError(f"{self.path}: no camera {camera_id!r} in the file; reload the zone editor")
        return [{"id": str(z.get("id", "")), "type": str(z.get("type", "")),
                 "polygon": [[float(x), float(y)] for x, y in z.get("polygon") or []],
                 "warn_after": "" if z.get("warn_after") is None else str(z.get("warn_after")),
                 "name": z.get("name") or ""}
                for z in camera.get("zones") or []]

    def save(self, camera_id: str, edits: list[ZoneEdit], version: str,
             frame_size: tuple[int, int] | None = None) -> SaveResult:
        """Write ``edits`` as the camera's zones; refuses (``ZoneEditError``) anything the loader would refuse."""
        if version != self.version():
            raise ZoneEditError(f"{self.path}: the file changed since this editor was opened (another save or a "
                                "hand edit); reload the page and draw again")
        ids = [e.id for e in edits]
        duplicate = next((i for i in ids if ids.count(i) > 1), None)
        if duplicate is not None:
            raise ZoneEditError(f"{self.path}: camera {camera_id!r}: zone id {duplicate!r} is used twice; "
                                "give each zone of a camera its own id")
        yml, document, camera = self._load_document(camera_id)
        result = _apply(camera, edits)
        reference = self._new_reference(camera, camera_id) if any(result) else None
        text = _dump(yml, document)
        restore = _write_reference(*reference) if reference else None
        try:
            self._validate(text, camera_id, frame_size)
        except ZoneEditError:
            if restore:
                restore()
            raise
        _replace_file(self.path, text)
        return SaveResult(self.version(), *result)

    def picture(self, camera_id: str, latest_snapshot: Callable[[], bytes | None]) -> CameraPicture | None:
        """A clean frame of a file source, else the camera's newest evidence snapshot (zones drawn as they were)."""
        if camera_id not in self.camera_ids():
            return None
        reference = self._reference_path(camera_id)
        if reference is not None and reference.is_file():
            image = cv2.imread(str(reference), cv2.IMREAD_COLOR)
            if image is not None:
                return CameraPicture(reference.read_bytes(), image.shape[1], image.shape[0],
                                     f"the camera's reference view ({reference.name}: its zones are drawn on it)")
        frame = self.rules.first_frame(self.path, camera_id)
        if frame is not None:
            ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
            if ok:
                height, width = frame.shape[:2]
                return CameraPicture(data.tobytes(), width, height, "first frame of the camera's video file")
        data = latest_snapshot()
        if data is None:
            return None
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            return None
        return CameraPicture(data, image.shape[1], image.shape[0],
                             "newest evidence photo (its drawn outlines are the zones as they were then)")

    def _reference_path(self, camera_id: str) -> Path | None:
        """The camera's ``reference:`` image as written in the file, resolved against the file's folder."""
        camera = next((c for c in self._raw().get("cameras") or []
                       if isinstance(c, dict) and str(c.get("id")) == camera_id), None)
        written = camera.get("reference") if isinstance(camera, dict) else None
        return None if not isinstance(written, str) else self.path.parent / Path(written).expanduser()

    def _new_reference(self, camera: CommentedMap, camera_id: str) -> tuple[Path, bytes] | None:
        """A camera without ``reference:`` whose zones were drawn on its video's first frame: that frame as the
        reference to write (its path and JPEG), the key set in ``camera``. None: nothing to write."""
        if camera.get("reference") is not None or camera.get("presets"):
            return None
        frame = self.rules.first_frame(self.path, camera_id)
        ok, data = (False, None) if frame is None else cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            return None
        written = f"{REFERENCE_FOLDER}/{camera_id}.jpg"
        keys = list(camera.keys())
        camera.insert(keys.index("zones") if "zones" in keys else len(keys), "reference", written)
        return self.path.parent / written, data.tobytes()

    def _raw(self) -> dict:
        """The file as plain data, parsed again only when it changed (the editor reads it on every request)."""
        stat = self.path.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        if self._parsed is None or self._parsed[0] != key:
            raw = _safe_load(self.path.read_text(encoding="utf-8"))
            self._parsed = (key, raw if isinstance(raw, dict) else {})
        return self._parsed[1]

    def _load_document(self, camera_id: str) -> tuple[YAML, Any, CommentedMap]:
        text = self.path.read_text(encoding="utf-8")
        try:
            _, indent, block_indent = load_yaml_guess_indent(text)
            yml = YAML()
            yml.indent(mapping=block_indent or 2, sequence=indent or 4, offset=block_indent or 2)
            yml.width = 4096
            yml.preserve_quotes = True
            document = yml.load(text)
        except YAMLError as exc:
            raise ZoneEditError(f"{self.path}: not valid YAML ({exc}); fix the file by hand first") from None
        cameras = document.get("cameras") if isinstance(document, dict) else None
        camera = next((c for c in cameras or [] if isinstance(c, dict) and str(c.get("id")) == camera_id), None)
        if camera is None:
            raise ZoneEditError(f"{self.path}: no camera {camera_id!r} in the file; reload the zone editor")
        return yml, document, camera

    def _validate(self, text: str, camera_id: str, frame_size: tuple[int, int] | None) -> None:
        try:
            self.rules.check_text(text, self.path, camera_id, frame_size)
        except UserError as exc:
            raise ZoneEditError(str(exc)) from None


def _safe_load(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's parser when PyYAML has it (same result, ten times faster)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _apply(camera: CommentedMap, edits: list[ZoneEdit]) -> tuple[list[str], list[str], list[str]]:
    """Change the camera's ``zones:`` in place: existing zones keep their other keys and comments."""
    if not isinstance(camera.get("zones"), list):
        camera["zones"] = CommentedSeq()
    zones: CommentedSeq = camera["zones"]
    wanted = {e.id: e for e in edits}
    removed = [str(z.get("id")) for z in zones if str(z.get("id")) not in wanted]
    for i in reversed(range(len(zones))):
        if str(zones[i].get("id")) not in wanted:
            del zones[i]
    changed, existing = [], {str(z.get("id")): z for z in zones}
    for edit in edits:
        zone = existing.get(edit.id)
        if zone is None:
            zone = CommentedMap([("id", edit.id)])
            zones.append(zone)
        before = {k: zone.get(k) for k in EDITED_KEYS}
        _set_fields(zone, edit)
        if edit.id in existing and before != {k: zone.get(k) for k in EDITED_KEYS}:
            changed.append(edit.id)
    added = [e.id for e in edits if e.id not in existing]
    return added, changed, removed


def _set_fields(zone: CommentedMap, edit: ZoneEdit) -> None:
    zone["type"] = edit.type
    current = [[float(x), float(y)] for x, y in zone.get("polygon") or []]
    points = [[_number(x), _number(y)] for x, y in edit.polygon]
    if current != [[float(x), float(y)] for x, y in points]:
        zone["polygon"] = _flow(points)
    warn_after = (edit.warn_after or "").strip()
    if warn_after:
        if str(zone.get("warn_after", "")) != warn_after:
            zone["warn_after"] = _number(warn_after) if _is_number(warn_after) else warn_after
    elif "warn_after" in zone:
        del zone["warn_after"]


def _flow(points: list[list[float]]) -> CommentedSeq:
    outer = CommentedSeq()
    for point in points:
        pair = CommentedSeq(point)
        pair.fa.set_flow_style()
        outer.append(pair)
    outer.fa.set_flow_style()
    return outer


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number(value: float | str) -> int | float:
    """Pixels as the operator would write them: ``412`` rather than ``412.0``."""
    number = round(float(value), 1)
    return int(number) if number.is_integer() else number


def _dump(yml: YAML, document: Any) -> str:
    out = io.StringIO()
    yml.dump(document, out)
    return out.getvalue()


def _write_reference(path: Path, data: bytes) -> Callable[[], None]:
    """Write a reference image (atomically); the function returned puts back what was there before."""
    before = path.read_bytes() if path.is_file() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    os.replace(temporary, path)

    def restore() -> None:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(before)
    return restore


def _replace_file(path: Path, text: str) -> None:
    """Write beside the file, then rename over it: a crash leaves the old file or the new one, never half of one."""
    mode = path.stat().st_mode & 0o777
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
