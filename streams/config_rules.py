"""The pipeline's config checks and first-frame reader, in the shape the zone editor asks for
(``review.zone_editor.ConfigRules``): review/ works from the store alone, so the app is handed these.

Example:
    >>> from review.zone_editor import ZoneFile                          # doctest: +SKIP
    >>> zones = ZoneFile("cameras.yaml", PipelineConfigRules())          # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from streams.files import open_recorded
from streams.frames import SourceError
from zones.config import config_from_text, is_file_source, load_config
from zones.geometry import check_in_frame
from zones.map_layers import map_layers_of


class PipelineConfigRules:
    """Validates configs with the loader's own sentences and reads a camera's first frame."""

    def check_file(self, path: Path) -> None:
        load_config(path)

    def check_text(self, text: str, path: Path, camera_id: str, frame_size: tuple[int, int] | None) -> None:
        config = config_from_text(text, path)
        camera = next((c for c in config.cameras if c.id == camera_id), None)
        if camera is not None and frame_size is not None:
            check_in_frame(camera, *frame_size, config_name=str(path))

    def first_frame(self, path: Path, camera_id: str) -> np.ndarray | None:
        camera = next((c for c in load_config(path).cameras if c.id == camera_id), None)
        if camera is None or not is_file_source(camera.source) or not Path(str(camera.source)).exists():
            return None
        try:
            frames = iter(open_recorded(str(camera.source), analysis_fps=1.0))
            frame = next(frames, None)
            frames.close()
        except SourceError:
            return None
        return None if frame is None else frame.image

    def map_layers(self, path: Path) -> dict:
        """The operations map's layers of the config (cameras' ``geo``, unit polygons: zones/map_layers.py)."""
        return map_layers_of(load_config(path))
