"""The optional annotated output video (``--annotate``): what the pipeline saw, frame by frame."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from contracts.paths import under
from detector.detections import Detections
from detector.resting import RestingObject
from events.drawing import ALERT, draw_box, draw_boxes, draw_footer, draw_zones, format_dwell
from zones.config import CameraConfig
from zones.rules import Violation

RESTING = (0, 200, 255)


class AnnotatedVideo:
    """H.264 video of the analysed frames with zones, detections, resting objects and running timers."""

    def __init__(self, path: Path, fps: float, camera: CameraConfig):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = Fraction(fps).limit_denominator(1000)
        self.camera = camera
        self._container = None
        self._stream = None

    @classmethod
    def in_folder(cls, out_dir: Path, fps: float, camera: CameraConfig) -> AnnotatedVideo:
        """The camera's video at ``out_dir/annotated/<camera>.mp4`` (the id checked to stay in ``out_dir``)."""
        return cls(under(out_dir, "annotated", f"{camera.id}.mp4"), fps, camera)

    def write(self, image: np.ndarray, t: float, detections: Detections, resting: list[RestingObject],
              timers: list[tuple[Violation, float, bool]]) -> None:
        canvas = draw_zones(image.copy(), self.camera.zones, thickness=1)
        draw_boxes(canvas, detections.xyxy, thickness=1)
        for obj in resting:
            draw_box(canvas, obj.xyxy, f"#{obj.object_id} {obj.class_name} {format_dwell(t - obj.since_t)}", RESTING)
        for violation, since_t, warned in timers:
            mark = "WARN " if warned else ""
            label = f"{mark}{violation.rule} #{violation.object_id} {format_dwell(t - since_t)}"
            draw_box(canvas, violation.xyxy, label, ALERT, thickness=3 if warned else 2)
        draw_footer(canvas, self.camera.id, t)
        self._encode(canvas)

    def _encode(self, canvas: np.ndarray) -> None:
        if self._container is None:
            self._container = av.open(str(self.path), "w")
            self._stream = self._container.add_stream("libx264", rate=self.fps)
            self._stream.width = canvas.shape[1] - canvas.shape[1] % 2
            self._stream.height = canvas.shape[0] - canvas.shape[0] % 2
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"crf": "26", "preset": "veryfast"}
        canvas = canvas[: self._stream.height, : self._stream.width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(canvas), format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        if self._container is None:
            return
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        self._container = None
