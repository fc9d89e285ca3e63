"""Static int8 quantisation (QDQ, per channel) of an exported graph, calibrated on arrays we already hold: the one
recipe the scene and tutor models share."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["quantize_int8"]


def quantize_int8(fp32: Path, int8: Path, inputs: Sequence[np.ndarray], name: str = "log_mel") -> None:
    """Write ``int8`` from ``fp32``, with activation ranges from feeding ``inputs`` (each a full batch) as ``name``."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(inputs)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {name: x}

    quantize_static(str(fp32), str(int8), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
