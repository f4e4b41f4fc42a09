"""Model names -> weight files, and the cached fp32 ONNX export of a ``.pt``.

A name such as ``yolo11n`` is looked up, in order, in the folders of ``$STREETORDER_MODEL_PATH`` (separated by
``os.pathsep``), then in this package's own folder (drop weights into ``models/``), then handed to Ultralytics,
which downloads official weights on a connected machine.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from contracts.errors import UserError

log = logging.getLogger(__name__)

MODEL_PATH_ENV = "STREETORDER_MODEL_PATH"
CACHE_DIR_ENV = "STREETORDER_CACHE_DIR"
WEIGHT_SUFFIXES = (".pt", ".onnx")
DEFAULT_MODEL = "yolo11n"


class ModelNotFoundError(UserError, FileNotFoundError):
    """A model name or path that resolves to no weight file; the message says where it looked."""


class ModelFileError(UserError):
    """A weight file that exists but cannot be loaded (cut short, damaged, not a YOLO model)."""

    @classmethod
    def unreadable(cls, path: str | os.PathLike, exc: BaseException) -> ModelFileError:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return cls(f"model file {path} cannot be loaded ({reason}); replace it with a good copy (a download or a "
                   "copy may have been cut short) or export it again")


def search_path() -> list[Path]:
    """Folders searched for model names, first match wins."""
    folders = [Path(p).expanduser() for p in os.environ.get(MODEL_PATH_ENV, "").split(os.pathsep) if p]
    folders.append(Path(__file__).resolve().parent)
    return folders


def cache_dir() -> Path:
    path = Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "streetorder")
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_model(name_or_path: str | os.PathLike) -> Path:
    """Find the weights for a model name (``yolo11n``, ``yolo11n_int8``) or a path.

    A path that exists is returned as is. A bare name is tried with each suffix in each search folder, ``.pt``
    first. Raises ``ModelNotFoundError`` naming the folders tried.
    """
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path.resolve()
    if path.parent != Path(".") or (path.suffix and path.suffix not in WEIGHT_SUFFIXES):
        raise ModelNotFoundError(f"model file {path} does not exist; check the path given to --model or `model:`")

    stem = path.stem if path.suffix in WEIGHT_SUFFIXES else path.name
    suffixes = [path.suffix] if path.suffix else list(WEIGHT_SUFFIXES)
    folders = search_path()
    for folder in folders:
        for suffix in suffixes:
            candidate = folder / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate.resolve()
        if not path.suffix and (folder / f"{stem}_openvino_model").is_dir():
            return (folder / f"{stem}_openvino_model").resolve()
    return _download(stem, folders)


def _download(stem: str, folders: list[Path]) -> Path:
    """Last resort: Ultralytics' own download of official weights (needs a network)."""
    tried = ", ".join(str(f) for f in folders)
    hint = (
        f"model {stem!r} was not found in {tried}; put {stem}.pt (or {stem}.onnx) in one of those folders "
        f"or set {MODEL_PATH_ENV} to the folder that holds it"
    )
    try:
        from ultralytics.utils.downloads import attempt_download_asset

        target = cache_dir() / f"{stem}.pt"
        got = Path(attempt_download_asset(str(target)))
    except Exception as exc:  # offline machines fail here in many different ways
        raise ModelNotFoundError(f"{hint} (download failed: {exc})") from None
    if not got.is_file():
        raise ModelNotFoundError(f"{hint} (no official weights of that name could be downloaded)")
    return got.resolve()


STRIDE = 32  # YOLO input sides are multiples of the network's largest stride


def rect_shape(frame_size: tuple[int, int], imgsz: int = 640) -> tuple[int, int]:
    """(height, width) of the smallest stride-multiple letterbox that holds a ``frame_size`` (width, height) frame
    scaled so that its long side is ``imgsz``: Ultralytics' ``rect`` inference shape.

    >>> rect_shape((1920, 1080)), rect_shape((640, 352)), rect_shape((576, 996), 320)
    ((384, 640), (352, 640), (320, 192))
    """
    width, height = frame_size
    scale = imgsz / max(width, height)
    return (-(-round(height * scale) // STRIDE) * STRIDE, -(-round(width * scale) // STRIDE) * STRIDE)


def onnx_export(weights: Path, imgsz: int | tuple[int, int] = 640, dynamic: bool = False) -> Path:
    """Path of an fp32 ONNX export of ``weights`` (a ``.pt``), exported once and cached.

    ``imgsz`` is a square side or a (height, width) shape. ``dynamic`` exports a model whose batch, height and
    width are free (one file serves every aspect ratio and batch size, as fast as a fixed one on onnxruntime).
    The cache key is the file's content hash, so replacing the weights re-exports.
    """
    weights = Path(weights)
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    size = "x".join(str(v) for v in imgsz) if isinstance(imgsz, tuple) else str(imgsz)
    target = cache_dir() / f"{weights.stem}-{size}{'-dynamic' if dynamic else ''}-{digest}.onnx"
    if target.is_file():
        return target
    from ultralytics import YOLO

    log.info("exporting %s to ONNX (once; cached as %s)", weights.name, target)
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / weights.name
        shutil.copy2(weights, local)  # export writes next to its input; the search folders may be read-only
        try:
            model = YOLO(str(local))
        except Exception as exc:  # torch and Ultralytics fail on a damaged file in many different ways
            raise ModelFileError.unreadable(weights, exc) from None
        exported = Path(model.export(format="onnx", imgsz=imgsz, dynamic=dynamic, simplify=True, verbose=False))
        partial = target.with_suffix(".part")
        shutil.move(exported, partial)
        partial.replace(target)  # atomic: two processes exporting at once never read half a file
    return target
