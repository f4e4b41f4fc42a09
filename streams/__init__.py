"""Both ends of a run: the sources (files, image folders, RTSP) that give timestamped frames, and the drivers that
compose the stages for each camera.

Sources (they import nothing of ours but ``contracts``):

- ``open_recorded(path, analysis_fps, origin, keyframes_only)``: a video file or image folder -> ``Frame``s on
  the media timeline; ``SourceError``: one sentence for a missing, corrupt or truncated file.
- ``LiveSource``: an RTSP stream or device read by its own thread, keeping only the freshest frame.

Composition:

- ``CameraPipeline``: a fixed camera's stages after detection, ``step(frame, detections)`` -> events.
- ``PatrolPipeline``: a moving camera's stages (GPS, ground projection, chalking).
- ``process_recorded(config, out_dir, ...)``: ``streetorder process``; ``LiveRunner``: ``streetorder run``.
"""

from streams.batch import CameraReport, process_recorded
from streams.files import open_recorded
from streams.frames import Frame, SourceError
from streams.live import LiveSource
from streams.live_runner import LiveRunner
from streams.patrol import PatrolPipeline
from streams.pipeline import CameraPipeline

__all__ = ["CameraPipeline", "CameraReport", "Frame", "LiveRunner", "LiveSource", "PatrolPipeline", "SourceError",
           "open_recorded", "process_recorded"]
