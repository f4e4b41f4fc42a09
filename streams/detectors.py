"""One detector per distinct model setting of the config's cameras (``DetectorCache``), as ``process``, ``run``,
the cluster and the benchmarks load them."""

from __future__ import annotations

from detector.load import Detector, load_detector
from detector.zone_crop import ZoneCrop, zone_polygons
from models.taxonomy import Taxonomy
from streams.segment_workers import DetectorSettings
from zones.config import CameraConfig, Config


class DetectorCache:
    """One detector per distinct model setting, shared by the cameras that use it. With several ``workers`` each
    inference stays on one core (onnxruntime ``threads=1``) and the workers run side by side."""

    def __init__(self, config: Config, model: str | None, backend: str | None, workers: int = 1):
        self.config = config
        self.model = model
        self.backend = backend
        self.threads = 1 if workers > 1 else None
        self.taxonomy = Taxonomy(config.taxonomy)
        self._loaded: dict[tuple, Detector] = {}

    def for_camera(self, camera: CameraConfig) -> Detector:
        settings = camera.detect
        key = self._key(camera)
        if key not in self._loaded:
            self._loaded[key] = load_detector(key[0], key[1], settings.confidence, settings.iou, settings.imgsz,
                                              self.taxonomy, self.threads, settings.letterbox)
        if settings.crop == "zones":  # one per camera around the shared detector; its pipeline re-points it
            return ZoneCrop(self._loaded[key], zone_polygons(camera.zones))
        return self._loaded[key]

    def settings_for(self, camera: CameraConfig) -> DetectorSettings:
        """What a segment worker process needs to load this camera's detector itself."""
        model, backend, confidence, iou, imgsz, letterbox = self._key(camera)
        return DetectorSettings(str(model), backend, confidence, iou, imgsz, letterbox,
                                tuple(sorted(self.config.taxonomy.items())))

    def _key(self, camera: CameraConfig) -> tuple:
        settings = camera.detect
        return (self.model or settings.model, self.backend or settings.backend, settings.confidence, settings.iou,
                settings.imgsz, settings.letterbox)
