"""Evidence files, reachable only inside their camera's evidence folder.

A path from a URL (or from a row of the store) is accepted only when it is relative, has no ``..`` part, names a
photo, and still lies under the camera's ``evidence_root`` once every symlink is resolved; the file it really is
must be a regular file with a photo's name (a link named ``x.jpg`` pointing at ``events.db`` is refused), and its
bytes must start as a JPEG or PNG does. ``read_evidence`` reads it without following a link swapped in meanwhile.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from contracts.paths import PathEscapes, under

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
PHOTO_SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
MAX_PHOTO_BYTES = 64 * 1024 * 1024  # far above any evidence photo; a bigger file is not one


class EvidenceRefused(ValueError):
    """The path may not be served; ``missing`` tells a refused path from one that is allowed but absent."""

    def __init__(self, message: str, missing: bool = False):
        super().__init__(message)
        self.missing = missing


def resolve_evidence(root: str | Path | None, relative: str) -> Path:
    """The file ``relative`` names under ``root``, or ``EvidenceRefused``.

    >>> resolve_evidence("/srv/out", "../events.db")
    Traceback (most recent call last):
    ...
    review.evidence.EvidenceRefused: evidence path '../events.db' leaves the evidence folder
    """
    if not root:
        raise EvidenceRefused("this camera has no evidence folder in the store", missing=True)
    text = str(relative)
    posix = PurePosixPath(text)
    if not text or "\x00" in text or "\\" in text or posix.is_absolute() or PureWindowsPath(text).drive:
        raise EvidenceRefused(f"evidence path {text!r} must be relative to the evidence folder")
    if ".." in posix.parts:
        raise EvidenceRefused(f"evidence path {text!r} leaves the evidence folder")
    if posix.suffix.lower() not in PHOTO_SUFFIXES:
        raise EvidenceRefused(f"evidence path {text!r} is not a photo")
    try:
        target = under(root, posix.as_posix())
    except PathEscapes:  # a symlink pointing out of the folder
        raise EvidenceRefused(f"evidence path {text!r} leaves the evidence folder") from None
    except (OSError, RuntimeError):
        raise EvidenceRefused(f"evidence {text!r} is missing", missing=True) from None
    if not target.is_file():
        raise EvidenceRefused(f"evidence {text!r} is missing", missing=True)
    if target.suffix.lower() not in PHOTO_SUFFIXES:  # a link named like a photo, to something that is not one
        raise EvidenceRefused(f"evidence path {text!r} is not a photo")
    return target


def read_evidence(root: str | Path | None, relative: str) -> tuple[bytes, str]:
    """The bytes and media type of the photo ``relative`` names under ``root``, or ``EvidenceRefused``.

    The resolved file is opened without following links and checked to be a regular file whose bytes start like
    a JPEG or PNG, so what is read is what was checked (a database renamed ``.jpg`` is refused too).
    """
    target = resolve_evidence(root, relative)
    try:
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        raise EvidenceRefused(f"evidence {relative!r} is missing", missing=True) from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_PHOTO_BYTES:
            raise EvidenceRefused(f"evidence path {relative!r} is not a photo")
        data = file.read(MAX_PHOTO_BYTES + 1)
    media_type = next((kind for magic, kind in PHOTO_SIGNATURES.items() if data.startswith(magic)), None)
    if media_type is None or len(data) > MAX_PHOTO_BYTES:
        raise EvidenceRefused(f"evidence path {relative!r} is not a photo")
    return data, media_type
