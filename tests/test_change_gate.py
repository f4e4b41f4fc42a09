"""The change gate on a real frame: sensor noise is not a change, a person walking in is."""

from __future__ import annotations

import av
import cv2
import numpy as np

from detector.change import ChangeGate
from streams.files import to_bgr
from tests.conftest import shared_clip


def test_the_change_gate_ignores_sensor_noise_and_sees_a_person_walk_in():
    with av.open(str(shared_clip("us_residential_street.mp4"))) as container:
        street = to_bgr(next(container.decode(video=0)))
    rng = np.random.default_rng(1)
    gate = ChangeGate(reconfirm_every=60.0)
    assert gate.needs_inference(street, 0.0)
    for t in range(1, 6):  # noise of a real sensor: a few grey levels per pixel, every frame different
        noisy = np.clip(street.astype(np.int16) + rng.normal(0, 3, street.shape), 0, 255).astype(np.uint8)
        assert not gate.needs_inference(noisy, float(t))
    walker = street.copy()
    cv2.rectangle(walker, (150, 200), (162, 236), (30, 30, 160), -1)  # 12x36 px: a person far down the street
    assert gate.needs_inference(walker, 6.0)
    assert (gate.inferred, gate.skipped) == (2, 5)
