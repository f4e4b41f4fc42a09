"""Map a model's class names onto the categories the rules speak of.

Rules never name raw model classes: a COCO model says ``car``, a custom model may say ``sedan`` or ``vendor_cart``,
and both land in the category the rule asks for (``vehicle``, ``stall``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

VEHICLE = "vehicle"  # motor vehicles with four or more wheels
TWO_WHEELER = "two_wheeler"  # motorcycles, mopeds, e-bikes
BICYCLE = "bicycle"  # pedal bikes, shared bikes
PERSON = "person"
STALL = "stall"  # a vending set-up recognised as a whole by a custom model
STALL_FIXTURE = "stall_fixture"  # what a vending pitch is built around: umbrella, table
SEAT = "seat"  # chairs and benches: part of a pitch only next to a fixture
OTHER = "other"

CATEGORIES = (VEHICLE, TWO_WHEELER, BICYCLE, PERSON, STALL, STALL_FIXTURE, SEAT, OTHER)

DEFAULT_CLASSES: dict[str, str] = {
    # COCO names
    "car": VEHICLE,
    "truck": VEHICLE,
    "bus": VEHICLE,
    "motorcycle": TWO_WHEELER,
    "bicycle": BICYCLE,
    "person": PERSON,
    "umbrella": STALL_FIXTURE,
    "dining_table": STALL_FIXTURE,
    "chair": SEAT,
    "bench": SEAT,
    # names that custom street models commonly use
    "van": VEHICLE,
    "suv": VEHICLE,
    "pickup": VEHICLE,
    "sedan": VEHICLE,
    "tricycle": TWO_WHEELER,
    "motorbike": TWO_WHEELER,
    "moped": TWO_WHEELER,
    "scooter": TWO_WHEELER,
    "ebike": TWO_WHEELER,
    "e_bike": TWO_WHEELER,
    "electric_bicycle": TWO_WHEELER,
    "bike": BICYCLE,
    "shared_bike": BICYCLE,
    "pedestrian": PERSON,
    "vendor": STALL,
    "street_vendor": STALL,
    "vendor_cart": STALL,
    "food_cart": STALL,
    "cart": STALL,
    "stall": STALL,
    "booth": STALL,
    "table": STALL_FIXTURE,
    "parasol": STALL_FIXTURE,
    "canopy": STALL_FIXTURE,
    "tent": STALL_FIXTURE,
    "stool": SEAT,
}


def normalise(name: str) -> str:
    """``"Dining Table"`` -> ``"dining_table"``."""
    return "_".join(name.strip().lower().replace("-", " ").split())


class Taxonomy:
    """Class name -> category lookup, with per-deployment additions.

    Example:
        >>> Taxonomy({"sanlunche": "two_wheeler"}).categories(["car", "Dining Table", "sanlunche", "kite"]).tolist()
        ['vehicle', 'stall_fixture', 'two_wheeler', 'other']
    """

    def __init__(self, extra: Mapping[str, str] | None = None):
        self._map = dict(DEFAULT_CLASSES)
        for name, category in (extra or {}).items():
            if category not in CATEGORIES:
                raise ValueError(
                    f"taxonomy: class {name!r} is mapped to unknown category {category!r}; "
                    f"use one of {', '.join(CATEGORIES)}"
                )
            self._map[normalise(name)] = category

    def category(self, class_name: str) -> str:
        return self._map.get(normalise(class_name), OTHER)

    def categories(self, class_names) -> np.ndarray:
        return np.array([self.category(n) for n in class_names], dtype=object)
