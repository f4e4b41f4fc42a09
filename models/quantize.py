"""Static INT8 quantization of a YOLO ONNX export (QDQ, per-channel weights), calibrated on the deployment's frames.

onnxruntime's *dynamic* INT8 (``ConvInteger``, as in ``yolo11n_int8.onnx``) quantizes activations at run time and
is no faster than fp32 on CPUs without VNNI. *Static* quantization measures the activations' ranges once, on
frames like those the model will see, and stores them as QuantizeLinear/DequantizeLinear pairs around each
operator, which onnxruntime fuses into integer kernels (1.4x faster here at 640x384, see docs/PERFORMANCE.md).

The detection head's decoding (DFL softmax, box arithmetic, the concatenation of pixel coordinates with 0..1
class scores into one tensor) is left in float: one INT8 scale cannot hold both ranges. Its convolutions are
quantized.

Example:
    >>> blobs = (preprocess(frame) for frame in frames)                      # doctest: +SKIP
    >>> quantize_int8(Path("yolo11n-384x640.onnx"), blobs, Path("yolo11n-int8.onnx"))   # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import logging
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import onnx

HEAD_BRANCHES = re.compile(r"/(cv2|cv3|one2one_cv2|one2one_cv3)[./]")  # the head's convolution branches


def head_decoding_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes of the last ``/model.N/`` module (Ultralytics' Detect head) outside its convolution
    branches: the decoding that stays in float.

    >>> names = ("/model.22/cv1/act/Relu", "/model.23/cv2.0/cv2.0.0/conv/Conv", "/model.23/dfl/Softmax",
    ...          "/model.23/Concat")
    >>> graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"], name=n) for n in names],
    ...                                "g", [], [])
    >>> head_decoding_nodes(onnx.helper.make_model(graph))
    ['/model.23/dfl/Softmax', '/model.23/Concat']
    """
    modules = [int(m[1]) for node in model.graph.node if (m := re.match(r"/model\.(\d+)/", node.name))]
    if not modules:
        return []
    head = f"/model.{max(modules)}/"
    return [n.name for n in model.graph.node if n.name.startswith(head) and not HEAD_BRANCHES.search(n.name)]


class _Calibration:
    """Feeds calibration inputs to onnxruntime's calibrator (its ``CalibrationDataReader`` interface)."""

    def __init__(self, input_name: str, blobs: Iterable[np.ndarray]):
        self.input_name = input_name
        self._blobs: Iterator[np.ndarray] = iter(blobs)
        self.count = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        blob = next(self._blobs, None)
        if blob is None:
            return None
        self.count += 1
        return {self.input_name: blob}

    def rewind(self) -> None:  # part of the interface; one pass is all MinMax calibration needs
        pass


def quantize_int8(fp32: Path, blobs: Iterable[np.ndarray], out: Path) -> int:
    """Write a static INT8 QDQ model of ``fp32`` (a fixed-shape ONNX export) to ``out``, calibrated on ``blobs``
    (the network's float inputs, 1x3xHxW, as the detector prepares them). Returns the number of inputs used.

    Raises ``ValueError`` when ``fp32`` has a free input shape or no calibration input was given.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)  # not its progress lines

    model = onnx.load(str(fp32))
    model_input = model.graph.input[0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in model_input.type.tensor_type.shape.dim]
    if None in dims:
        raise ValueError(f"{fp32.name}: the input shape {dims} is not fixed; quantize a fixed-shape export")
    blobs = iter(blobs)
    first = next(blobs, None)
    if first is None:
        raise ValueError("no calibration frames were given; point the command at the cameras' own footage")
    calibration = _Calibration(model_input.name, itertools.chain([first], blobs))
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared))
        exclude = head_decoding_nodes(onnx.load(str(prepared)))
        partial = out.with_suffix(".part")
        quantize_static(str(prepared), str(partial), calibration, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=exclude,
                        calibrate_method=CalibrationMethod.MinMax,
                        extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
    partial.replace(out)
    return calibration.count
