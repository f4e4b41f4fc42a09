"""Paths built from ids (camera, zone, object): one function joins them and checks the result stays under its root.

Ids come from config files, the zone editor and the store; each becomes a folder or file name. ``under`` refuses a
part that is absolute, empty, ``.`` or ``..``, or that would lead (through ``..`` or a symbolic link) out of the
root, so no id can make the pipeline write, or the app read, outside its folder.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from contracts.errors import UserError


class PathEscapes(UserError, ValueError):
    """A path built from ids would leave its root folder; the message names the part and the root."""


def under(root: str | Path, *parts: str | Path) -> Path:
    """``root / parts...``, resolved, or ``PathEscapes`` when a part is not a plain relative name or the result
    (symbolic links followed) is not inside ``root``.

    >>> under("/srv/out", "evidence", "cam-a", "walk/1-warn.jpg").as_posix()
    '/srv/out/evidence/cam-a/walk/1-warn.jpg'
    >>> under("/srv/out", "evidence", "..")
    Traceback (most recent call last):
    ...
    contracts.paths.PathEscapes: path part '..' leaves the folder /srv/out; ids may not be '.' or '..'
    """
    base = Path(root).resolve()
    for part in parts:
        _check_part(str(part), base)
    target = base.joinpath(*(str(p) for p in parts)).resolve()
    if not target.is_relative_to(base):
        raise PathEscapes(f"path {'/'.join(str(p) for p in parts)!r} leads out of the folder {base} "
                          "(through a symbolic link); remove the link")
    return target


def _check_part(text: str, base: Path) -> None:
    posix = PurePosixPath(text)
    if not text or "\x00" in text or posix.is_absolute() or PureWindowsPath(text).drive or text.startswith("\\"):
        raise PathEscapes(f"path part {text!r} must be a relative name inside the folder {base}")
    if any(piece in (".", "..") for piece in text.replace("\\", "/").split("/")):
        raise PathEscapes(f"path part {text!r} leaves the folder {base}; ids may not be '.' or '..'")
