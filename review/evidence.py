"""Evidence files, reachable only inside their camera's evidence folder.

A path from a URL (or from a row of the store) is accepted only when it is relative, has no ``..`` part, names a
photo, and still lies under the camera's ``evidence_root`` once every symlink is resolved.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


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
        base = Path(root).resolve(strict=True)
        target = (base / posix).resolve(strict=True)
    except (OSError, RuntimeError):
        raise EvidenceRefused(f"evidence {text!r} is missing", missing=True) from None
    if not target.is_relative_to(base):  # a symlink pointing out of the folder
        raise EvidenceRefused(f"evidence path {text!r} leaves the evidence folder")
    if not target.is_file():
        raise EvidenceRefused(f"evidence {text!r} is missing", missing=True)
    return target
