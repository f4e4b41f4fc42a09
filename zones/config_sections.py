"""The config's settings sections that are not cameras or zones: the detector, the resting-object memory, the
rules' categories and the live readers (each set globally; ``detect:`` also per camera)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.names import Backend
from zones.config_geo import StrictModel
from zones.schedule import Seconds


class DetectSettings(StrictModel):
    model: str = Field("yolo11n", description="A model name on the model search path (STREETORDER_MODEL_PATH, "
                                              "then models/), or a path to a .pt / .onnx file.")
    backend: Backend = Field("onnxruntime", description="Inference backend: onnxruntime, ultralytics (any format "
                                                        "it loads) or openvino (pip install '.[openvino]').")
    confidence: float = Field(0.25, gt=0, lt=1, description="Detections scoring below this are dropped (0 to 1).")
    iou: float = Field(0.7, gt=0, le=1, description="Non-maximum suppression overlap (0 to 1), as Ultralytics'.")
    imgsz: int = Field(640, ge=64, le=4096, description="Model input size in pixels (long side); `streetorder "
                                                        "models sizes` recommends one per camera.")
    # speed settings (issue 6; their accuracy cost is in docs/PERFORMANCE.md)
    letterbox: Literal["square", "rect"] = Field(
        "rect", description="rect: the frame's aspect (640x384 for 16:9), 40 % less work than square, the same "
                            "boxes; square: a 640x640 input.")
    skip_unchanged: bool = Field(False, description="Reuse the last detections on frames where nothing changed in "
                                                    "or above the zones.")
    reconfirm_every: Seconds = Field(5.0, gt=0, description="With skip_unchanged, run the detector at least this "
                                                            "often (keep it below resting.rest_window).")
    crop: Literal["none", "zones"] = Field(
        "none", description="zones: feed the network only the box of the camera's zones (and what stands on "
                            "them) at the whole frame's scale; objects outside it are not detected.")
    # cameras that move (issue 16; docs/CAMERA_MOVES.md)
    view_check: bool = Field(True, description="Fixed cameras: check where the camera looks against its view at "
                                               "the start; re-anchor the zones when it shifted, stop the timers "
                                               "when it moved.")
    view_check_every: Seconds = Field(5.0, gt=0, description="With view_check, match features at least this "
                                                             "often (and whenever the frame's thumbnail changes).")
    # the adaptive analysis rate (issue 18; streams/rate.py)
    idle_fps: float | None = Field(None, gt=0, description="Analyse this often while nothing changes in or near "
                                                           "the zones and every resting object is confirmed "
                                                           "(back to analysis_fps at once on a change); null: "
                                                           "always analysis_fps.")
    idle_after: Seconds = Field(10.0, gt=0, description="With idle_fps, how long nothing must change before the "
                                                        "rate drops (at least resting.rest_window and one frame).")


class RestingSettings(StrictModel):
    """How the resting-object memory decides that something has come to rest (see ``detector.resting``)."""

    rest_window: Seconds = Field(5.0, description="How long an object must stay put to count as resting.")
    radius: float = Field(0.15, gt=0, le=1, description="... within this share of its box's smaller side (0 to 1).")
    max_gap: Seconds = Field(120.0, description="Missed detections, occlusions and video gaps shorter than this do "
                                                "not restart a timer; longer ones end every timer.")


class RuleSettings(StrictModel):
    sidewalk_parking: list[str] = Field(["vehicle"], description="Categories that count as sidewalk parking; add "
                                                                 "two_wheeler to count motorcycles.")
    misparked_bike: list[str] = Field(["bicycle"], description="Categories that count as misparked bikes outside "
                                                               "every bike_parking zone.")
    vending_linger: Seconds = Field(15.0, description="A person staying this long by a vending set-up attends it "
                                                      "(passers-by do not count).")


class LiveSettings(StrictModel):
    """How ``streetorder run`` reads live cameras (see ``streams.live``)."""

    transport: Literal["tcp", "udp"] = Field("tcp", description="RTSP transport; tcp survives lossy networks and "
                                                                "NAT.")
    open_timeout: Seconds = Field(10.0, gt=0, description="A camera that does not answer within this is offline.")
    stall_timeout: Seconds = Field(10.0, gt=0, description="A connected stream sending no frame this long is "
                                                           "reconnected (the watchdog).")
    reconnect_min: Seconds = Field(1.0, gt=0, description="First retry delay; doubled after each failure ...")
    reconnect_max: Seconds = Field(60.0, gt=0, description="... up to this, with random jitter.")
    save_every: Seconds = Field(5.0, gt=0, description="How often resting objects and timers are saved (and always "
                                                       "on shutdown), so a restart goes on where it stopped.")
