"""Model names -> weight files, exports and the class taxonomy.

- ``resolve_model(name_or_path) -> Path``: the search path (``STREETORDER_MODEL_PATH``, then ``models/``, then
  Ultralytics' download on a connected machine); ``ModelNotFoundError`` says where it looked.
- ``onnx_export(weights, imgsz, dynamic)``: a ``.pt`` exported once to ONNX, cached.
- ``Taxonomy``: model class names -> the categories rules speak of (``vehicle``, ``bicycle``, ``stall`` ...).
- ``quantize_int8``: an INT8 model calibrated on a camera's own frames; ``recommend_imgsz``: an input size per
  camera from its objects' sizes.
"""

from models.quantize import quantize_int8
from models.registry import ModelNotFoundError, onnx_export, resolve_model
from models.sizes import recommend_imgsz
from models.taxonomy import CATEGORIES, Taxonomy

__all__ = ["CATEGORIES", "ModelNotFoundError", "Taxonomy", "onnx_export", "quantize_int8", "recommend_imgsz",
           "resolve_model"]
