"""The one data type that flows between stages: a set of boxes as numpy arrays."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Detections:
    """Boxes found in one frame, one row per object.

    Attributes:
        xyxy: (N, 4) float32 boxes in source-frame pixels, ``x1, y1, x2, y2``.
        confidence: (N,) float32 detector scores.
        class_id: (N,) int32 model class indices.
        class_name: (N,) model class names (object array of str).
        category: (N,) rule categories from the taxonomy (``vehicle``, ``bicycle`` ...), see ``models.taxonomy``.
        tracker_id: (N,) int64 tracker ids, -1 where the tracker has not (yet) confirmed the box.

    Example:
        >>> d = Detections.from_arrays([[10, 20, 50, 80]], [0.9], [2], ["car"], ["vehicle"])
        >>> d.ground_points().tolist()
        [[30.0, 80.0]]
        >>> len(d[d.category == "vehicle"])
        1
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    class_name: np.ndarray
    category: np.ndarray
    tracker_id: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        if self.tracker_id is None:
            self.tracker_id = np.full(n, -1, dtype=np.int64)
        for name in ("confidence", "class_id", "class_name", "category", "tracker_id"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Detections.{name} has {len(getattr(self, name))} rows, xyxy has {n}")

    @classmethod
    def from_arrays(
        cls,
        xyxy,
        confidence,
        class_id,
        class_name,
        category,
        tracker_id=None,
    ) -> Detections:
        """Build from lists or arrays, coercing dtypes."""
        return cls(
            xyxy=np.asarray(xyxy, dtype=np.float32).reshape(-1, 4),
            confidence=np.asarray(confidence, dtype=np.float32).reshape(-1),
            class_id=np.asarray(class_id, dtype=np.int32).reshape(-1),
            class_name=np.asarray(class_name, dtype=object).reshape(-1),
            category=np.asarray(category, dtype=object).reshape(-1),
            tracker_id=None if tracker_id is None else np.asarray(tracker_id, dtype=np.int64).reshape(-1),
        )

    @classmethod
    def empty(cls) -> Detections:
        return cls.from_arrays(np.zeros((0, 4)), [], [], [], [])

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index) -> Detections:
        """Select rows with a boolean mask, an index array, a slice or an int."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            class_name=self.class_name[index],
            category=self.category[index],
            tracker_id=self.tracker_id[index],
        )

    def __iter__(self) -> Iterator[Detections]:
        for i in range(len(self)):
            yield self[i]

    def ground_points(self) -> np.ndarray:
        """(N, 2) bottom-centre of each box: where the object touches the ground."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1).astype(np.float32)

    @property
    def width(self) -> np.ndarray:
        return self.xyxy[:, 2] - self.xyxy[:, 0]

    @property
    def height(self) -> np.ndarray:
        return self.xyxy[:, 3] - self.xyxy[:, 1]

