"""Model variants for speed: the free-shape export and its rect letterbox, static INT8 quantization calibrated on
real footage (`streetorder models quantize`), input sizes from the objects in the zones (`streetorder models
sizes`), and the OpenVINO backend, each checked against the fp32 onnxruntime detector on real frames."""

from __future__ import annotations

import av
import numpy as np
import onnx
import pytest
import yaml

from detector.boxes import box_iou
from detector.load import load_detector
from detector.onnx_backend import OnnxDetector
from models.quantize import head_decoding_nodes, quantize_int8
from models.registry import onnx_export, resolve_model
from streams.files import to_bgr
from streetorder.cli import main
from streetorder.models_cmd import agreement
from tests.conftest import shared_clip


def frames_of(path, count: int, every: int = 30) -> list[np.ndarray]:
    images = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % every == 0:
                images.append(to_bgr(frame))
            if len(images) == count:
                break
    return images


def strong_matches(reference, candidate, image, min_iou: float) -> tuple[int, int]:
    """(matched, strong): reference boxes scoring >= 0.6 that the candidate finds with the same class."""
    a, b = reference.detect(image), candidate.detect(image)
    a = a[a.confidence >= 0.6]
    if not len(a) or not len(b):
        return 0, len(a)
    same = a.class_name[:, None] == b.class_name[None, :]
    return int(((box_iou(a.xyxy, b.xyxy) * same) >= min_iou).any(axis=1).sum()), len(a)


@pytest.fixture(scope="module")
def street(require_models):
    return frames_of(shared_clip("us_residential_street.mp4"), 6)


def test_rect_letterbox_feeds_the_frames_own_aspect_and_finds_the_same_cars(street):
    square = load_detector("yolo11n", letterbox="square")
    rect = load_detector("yolo11n", letterbox="rect")
    assert square.path == rect.path  # one free-shape export serves both
    assert square.shape_for(street[0]) == (640, 640) and rect.shape_for(street[0]) == (352, 640)
    assert rect.shape_for(np.zeros((1080, 1920, 3), np.uint8)) == (384, 640)
    assert load_detector("yolo11n", imgsz=320, letterbox="rect").shape_for(street[0]) == (192, 320)
    matched = strong = 0
    for image in street:
        m, s = strong_matches(square, rect, image, min_iou=0.8)
        matched, strong = matched + m, strong + s
    assert strong >= 15 and matched >= 0.9 * strong


def test_static_int8_is_calibrated_on_footage_keeps_the_head_in_float_and_finds_the_same_cars(street, tmp_path):
    weights = resolve_model("yolo11n")
    fp32 = onnx_export(weights, (352, 640))
    calibration = frames_of(shared_clip("us_residential_street.mp4"), 8, every=97)
    reference = OnnxDetector(fp32)
    blobs = (reference.preprocess(image)[0] for image in calibration)
    out = tmp_path / "int8.onnx"
    assert quantize_int8(fp32, blobs, out) == 8

    model = onnx.load(str(out))
    ops = {n.op_type for n in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    decoding = set(head_decoding_nodes(onnx.load(str(fp32))))
    assert any("dfl" in name for name in decoding)
    decoded = {o for n in model.graph.node if n.name in decoding for o in n.output}
    quantized = {i for n in model.graph.node if n.op_type == "QuantizeLinear" for i in n.input}
    assert decoded and not decoded & quantized  # the decoding's outputs stay float
    assert any(n.op_type == "QuantizeLinear" and "/model.23/cv3" in n.input[0] for n in model.graph.node)

    int8 = OnnxDetector(out)
    assert int8.input_size == (352, 640) and int8.class_names[2] == "car"
    found, total = agreement(reference, int8, street)
    assert total >= 15 and found >= 0.85 * total


def test_quantize_refuses_a_free_shape_model_and_an_empty_calibration(tmp_path, require_models):
    free = onnx_export(resolve_model("yolo11n"), 640, dynamic=True)
    with pytest.raises(ValueError, match="is not fixed"):
        quantize_int8(free, iter([]), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="no calibration frames"):
        quantize_int8(onnx_export(resolve_model("yolo11n"), (352, 640)), iter([]), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_openvino_runs_the_same_export_with_the_same_boxes(street):
    pytest.importorskip("openvino")
    onnxruntime = load_detector("yolo11n", letterbox="rect")
    openvino = load_detector("yolo11n", "openvino", letterbox="rect")
    matched = strong = 0
    for image in street[:3]:
        m, s = strong_matches(onnxruntime, openvino, image, min_iou=0.97)
        matched, strong = matched + m, strong + s
    assert strong >= 8 and matched == strong


def config_for(tmp_path, clip, zones) -> str:
    path = tmp_path / "cameras.yaml"
    path.write_text(yaml.safe_dump({"cameras": [{"id": "us-res", "source": str(clip), "zones": zones}]}))
    return str(path)


def test_models_commands_quantize_on_the_cameras_footage_and_recommend_a_size(tmp_path, require_models, capsys):
    clip = shared_clip("us_residential_street.mp4")
    kerb = {"id": "kerb", "type": "sidewalk", "polygon": [[340, 125], [640, 125], [640, 352], [340, 352]]}
    config = config_for(tmp_path, clip, [kerb])
    out = tmp_path / "models" / "int8.onnx"
    assert main(["models", "quantize", "--config", config, "--frames", "8", "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "at 640x352 on 4 frames" in printed and f"wrote {out}" in printed
    assert OnnxDetector(out).input_size == (352, 640)

    assert main(["models", "sizes", "--config", config, "--frames", "4"]) == 0
    printed = capsys.readouterr().out
    row = next(line for line in printed.splitlines() if "us-res" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[1] == "640x352" and int(cells[2]) > 0 and cells[-1] in {"320", "480", "640"}


def test_quantize_names_a_live_camera_and_the_way_to_give_its_footage(tmp_path, capsys):
    path = tmp_path / "cameras.yaml"
    path.write_text(yaml.safe_dump({"cameras": [{"id": "gate", "source": "rtsp://u:secret@10.0.0.5/s"}]}))
    assert main(["models", "quantize", "--config", str(path), "--out", str(tmp_path / "x.onnx")]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "camera 'gate' is live" in message and "--source" in message and "secret" not in message
