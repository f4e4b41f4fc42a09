"""The views of a vehicle worth reading on a moving camera: its largest crops during one pass.

A patrol camera sees a parked car for a few seconds, and whether the car becomes a sighting (stood still in a zone)
is known only when the pass over it ends. So the ``keep`` largest views of each vehicle are kept meanwhile (a
larger box is nearer and more frontal: more pixels on the plate) and read then, all at once.

Example:
    >>> import numpy as np
    >>> views = BestViews(keep=2)
    >>> frame = np.zeros((100, 200, 3), np.uint8)
    >>> for t, width in [(0.0, 20), (0.2, 60), (0.4, 40)]:
    ...     views.see(7, frame, (10, 10, 10 + width, 50), t)
    >>> [t for t, _ in views.pop(7)], views.pop(7)
    ([0.2, 0.4], [])
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from detector.boxes import crop


class BestViews:
    """The ``keep`` largest vehicle crops of each object (by box area), and when each object was seen last."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._views: dict[Hashable, list[tuple[float, float, np.ndarray]]] = {}  # key -> (area, t, crop)
        self._last_t: dict[Hashable, float] = {}

    def see(self, key: Hashable, image: np.ndarray, xyxy: Sequence[float], t: float) -> None:
        """One frame's box of object ``key``; cut out only when it is among the largest so far."""
        self._last_t[key] = t
        views = self._views.setdefault(key, [])
        area = float((xyxy[2] - xyxy[0]) * (xyxy[3] - xyxy[1]))
        if len(views) >= self.keep and area <= views[-1][0]:
            return
        views.append((area, t, crop(image, xyxy)))
        views.sort(key=lambda view: -view[0])
        del views[self.keep:]

    def seen(self, key: Hashable, t: float) -> None:
        """Object ``key`` is still in the picture (outside the zone, say): its views are kept."""
        if key in self._last_t:
            self._last_t[key] = t

    def pop(self, key: Hashable) -> list[tuple[float, np.ndarray]]:
        """The views of ``key`` as ``(t, crop)`` in time order, forgotten."""
        self._last_t.pop(key, None)
        return [(t, image) for _, t, image in sorted(self._views.pop(key, []), key=lambda view: view[1])]

    def forget_unseen_since(self, t: float) -> None:
        """Drop the views of objects last seen before ``t`` (their pass ended without a sighting)."""
        for key in [k for k, last in self._last_t.items() if last < t]:
            self.pop(key)

    def clear(self) -> None:
        self._views.clear()
        self._last_t.clear()
