"""Officers' photos of what they did: checked by their content, stored under the camera's evidence folder.

A photo is accepted when it is at most ``MAX_UPLOAD_BYTES``, starts as a JPEG or PNG does and decodes as that
format (Pillow reads it through, a decompression bomb refused); it is written under ``handled/`` of the camera's
evidence folder with a random name of its own, never a name or path the client sent, created exclusively and
without following links, so it is served back by the same checked evidence route as the pipeline's photos.
"""

from __future__ import annotations

import io
import os
import secrets
import warnings
from pathlib import Path

from PIL import Image

from contracts.errors import UserError
from contracts.paths import PathEscapes, under
from review.evidence import PHOTO_SIGNATURES

MAX_UPLOAD_BYTES = 8 * 1024 * 1024  # a phone's photo is 2-5 MB
UPLOAD_FOLDER = "handled"
_SUFFIXES = {"image/jpeg": (".jpg", "JPEG"), "image/png": (".png", "PNG")}


class UploadRefused(UserError, ValueError):
    """A photo that is not stored; the message says why and what to send instead."""

    status = 400


class PhotoTooLarge(UploadRefused):
    status = 413


# What decoding a file that is not a whole picture raises. ImportError: Ultralytics, once imported in the process,
# wraps Image.open to retry an unidentified file with a HEIF plugin that is not installed.
NOT_A_PICTURE = (OSError, SyntaxError, ValueError, ImportError, Image.DecompressionBombWarning,
                 Image.DecompressionBombError)


def check_photo(data: bytes) -> str:
    """The media type of ``data`` if it is a JPEG or PNG photo within the size limit, else ``UploadRefused``.

    >>> check_photo(b"%PDF-1.7 ...")
    Traceback (most recent call last):
    ...
    review.uploads.UploadRefused: the photo is not a JPEG or PNG picture; send the camera's JPEG or a PNG
    """
    if not data:
        raise UploadRefused("the photo is empty; choose the picture again")
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoTooLarge(f"the photo is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; send a smaller one "
                            "(the phone's 'medium' size)")
    kind = next((kind for magic, kind in PHOTO_SIGNATURES.items() if data.startswith(magic)), None)
    refused = UploadRefused("the photo is not a JPEG or PNG picture; send the camera's JPEG or a PNG")
    if kind is None:
        raise refused
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format != _SUFFIXES[kind][1]:
                    raise refused
                image.load()  # decodes every pixel: a truncated or forged file fails here
    except NOT_A_PICTURE:
        raise refused from None
    return kind


def store_photo(evidence_root: str | Path | None, data: bytes) -> str:
    """Check ``data`` and write it under the evidence folder; returns its path relative to that folder."""
    kind = check_photo(data)
    if not evidence_root:
        raise UploadRefused("this camera has no evidence folder in the store, so a photo cannot be kept; report "
                            "without one")
    try:
        folder = under(evidence_root, UPLOAD_FOLDER)
        folder.mkdir(parents=True, exist_ok=True)
    except (PathEscapes, OSError) as exc:
        raise UploadRefused(f"the photo folder {UPLOAD_FOLDER}/ of the evidence folder cannot be used ({exc}); "
                            "ask an admin to fix it") from None
    name = secrets.token_hex(16) + _SUFFIXES[kind][0]
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(folder / name, flags, 0o640), "wb") as file:
        file.write(data)
    return f"{UPLOAD_FOLDER}/{name}"
