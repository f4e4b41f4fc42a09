"""YOLO inference with OpenVINO (the optional ``openvino`` extra): the same ONNX files, pre- and post-processing as
``detector.onnx_backend``, only the inference engine differs.

Measured on this project's 2-core AVX2 machine (see docs/PERFORMANCE.md), OpenVINO runs the fp32 and the
QDQ INT8 exports no faster than onnxruntime, so it is offered for machines where it is (VNNI, AVX-512, iGPUs),
not used by default.

Example:
    >>> detector = OpenVinoDetector("yolo11n-640-dynamic.onnx")   # doctest: +SKIP
    >>> detector.detect(frame)                                    # doctest: +SKIP
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from detector.onnx_backend import OnnxDetector


class OpenVinoDetector(OnnxDetector):
    """``OnnxDetector`` with OpenVINO's CPU plugin as the engine: one compiled model per input shape (a dynamic
    ONNX is compiled for each shape it meets), one infer request per thread."""

    def _load(self, path: Path, threads: int | None) -> tuple[list, list, dict[str, str]]:
        try:
            import openvino as ov
        except ImportError:
            raise ImportError("the openvino backend needs the `openvino` package: pip install 'streetorder[openvino]'"
                              ) from None
        import onnx

        self._core = ov.Core()
        self._model = self._core.read_model(str(path))
        self._config = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1, "ENABLE_CPU_PINNING": False,
                        "INFERENCE_PRECISION_HINT": "f32"}
        if threads:
            self._config["INFERENCE_NUM_THREADS"] = threads
        self._compiled: dict[tuple[int, ...], object] = {}
        self._requests = threading.local()
        self._lock = threading.Lock()
        metadata = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        return (_dims(self._model.inputs[0].get_partial_shape()), _dims(self._model.outputs[0].get_partial_shape()),
                metadata)

    def infer(self, blob: np.ndarray) -> np.ndarray:
        request = self._request(blob.shape)
        request.infer({0: blob})
        return request.get_output_tensor(0).data.copy()

    def _request(self, shape: tuple[int, ...]):
        requests = self._requests.__dict__.setdefault("by_shape", {})
        if shape not in requests:
            with self._lock:
                if shape not in self._compiled:
                    import openvino as ov

                    model = self._model.clone()
                    if model.inputs[0].get_partial_shape().is_dynamic:
                        model.reshape({model.inputs[0]: ov.PartialShape(list(shape))})
                    self._compiled[shape] = self._core.compile_model(model, "CPU", self._config)
            requests[shape] = self._compiled[shape].create_infer_request()
        return requests[shape]


def _dims(shape) -> list:
    """OpenVINO's partial shape as onnxruntime gives it: ints, and names for free dimensions."""
    return [d.get_length() if d.is_static else f"d{i}" for i, d in enumerate(shape)]
