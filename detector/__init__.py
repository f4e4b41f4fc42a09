"""Frames -> ``Detections`` -> tracks -> resting objects: what is in the picture, and what has come to rest.

- ``Detections``: the one data type between stages (boxes, scores, classes, categories, track ids; numpy arrays).
- ``load_detector(model, backend, ...) -> Detector``: a model name or path on an inference backend (onnxruntime,
  ultralytics, openvino); ``Detector.detect(image) -> Detections``.
- ``Tracker``: ByteTrack (Ultralytics') track ids, ``update(detections, t)`` at media time ``t``.
- ``RestingMemory``, ``RestingParams``, ``RestingObject``: objects at rest, kept by spot and look across missed
  detections, occlusions and track switches; ``RestingMemory.update(detections, t, image) -> RestingUpdate``.
- ``ChangeGate``: skips detection on frames where nothing changed near the zones.
- ``appearance``, ``appearance_distance``: a box's colour histogram and how far two are apart.
- Box arithmetic: ``box_area``, ``box_iou``, ``box_coverage``, ``boxes_overlap``, ``enclosing_box``,
  ``expand_box``, ``crop``.
"""

from detector.appearance import appearance, appearance_distance
from detector.boxes import box_area, box_coverage, box_iou, boxes_overlap, crop, enclosing_box, expand_box
from detector.change import ChangeGate
from detector.detections import Detections
from detector.load import Detector, load_detector
from detector.resting import RestingMemory, RestingObject, RestingParams, RestingUpdate
from detector.tracking import Tracker

__all__ = [
    "ChangeGate", "Detections", "Detector", "RestingMemory", "RestingObject", "RestingParams", "RestingUpdate",
    "Tracker", "appearance", "appearance_distance", "box_area", "box_coverage", "box_iou", "boxes_overlap", "crop",
    "enclosing_box", "expand_box", "load_detector",
]
