"""What every source yields: a picture with its place on the media timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from contracts.errors import UserError


class SourceError(UserError, RuntimeError):
    """A source that cannot be opened or stopped early; the message names the camera or file and what to do."""


@dataclass
class Frame:
    """A sampled frame.

    Attributes:
        image: BGR pixels, height x width x 3.
        t: seconds since the start of the source, from presentation timestamps (never a frame count).
        index: position of this frame among the frames the source yielded.
        origin: wall-clock time at ``t == 0`` where known (live streams, or files given a start time).
        native: the pixels as decoded when ``image`` was scaled to the camera's ``frame_size`` (a live sub-stream);
            None when they are ``image``.
    """

    image: np.ndarray
    t: float
    index: int
    origin: datetime | None = None
    native: np.ndarray | None = None

    @property
    def decoded(self) -> np.ndarray:
        """The pixels as decoded (``native``, else ``image``): cheap checks need no scaled copy."""
        return self.image if self.native is None else self.native

    @property
    def ts(self) -> datetime | None:
        """Wall-clock time of this frame, where known."""
        return None if self.origin is None else self.origin + timedelta(seconds=self.t)


class Sampler:
    """Pick frames at ``fps`` on a fixed time grid, so sampling never drifts and gaps are honoured.

    >>> s = Sampler(2.0)
    >>> [t for t in (0.0, 0.2, 0.4, 0.5, 0.9, 1.0, 7.3) if s.take(t)]
    [0.0, 0.5, 1.0, 7.3]
    """

    def __init__(self, fps: float):
        self.period = 1.0 / fps
        self._next = float("-inf")

    def take(self, t: float) -> bool:
        # a frame within 1 ms before the grid point counts as on it (timestamps are rounded by containers)
        if t + 1e-3 < self._next:
            return False
        self._next = (int((t + 1e-3) / self.period) + 1) * self.period
        return True
