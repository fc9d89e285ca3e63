"""ONNX export of a trained joint intent+slot model, and the post-training quantisations train_joint measures
beside it (int8 dynamic, the one it ships; int8 static QDQ; onnxruntime's 4-bit blockwise MatMulNBits)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .joint_model import JointModel


class _Export(torch.nn.Module):
    def __init__(self, model: JointModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids, attention_mask)


def export_onnx(model: JointModel, path: Path, pad_id: int) -> None:
    model.eval()
    ids = torch.tensor([[1, 5, 6, 7, 2], [1, 8, 2, pad_id, pad_id]], dtype=torch.long)
    mask = (ids != pad_id).long()
    batch = torch.export.Dim("batch", min=1, max=1024)
    seq = torch.export.Dim("seq", min=2, max=model.cfg.max_len)
    prog = torch.onnx.export(
        _Export(model).eval(), (ids, mask), dynamo=True, opset_version=18,
        input_names=["input_ids", "attention_mask"], output_names=["intent_logits", "slot_logits"],
        dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
        optimize=True, verbose=False,
    )
    prog.save(str(path), external_data=False)


def quantize_int8_dynamic(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Gather"],
                     extra_options={"MatMulConstBOnly": True})


def quantize_int8_static(src: Path, dst: Path, calib: list[tuple[np.ndarray, np.ndarray]]) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(calib)

        def get_next(self):
            nxt = next(self.it, None)
            return None if nxt is None else {"input_ids": nxt[0], "attention_mask": nxt[1]}

    quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    weight_type=QuantType.QInt8, activation_type=QuantType.QInt8,
                    op_types_to_quantize=["MatMul", "Gather"],
                    extra_options={"MatMulConstBOnly": True, "ActivationSymmetric": True})


def quantize_4bit(src: Path, dst: Path, block_size: int = 32) -> None:
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    model = onnx.load(str(src))
    cfg = DefaultWeightOnlyQuantConfig(block_size=block_size, is_symmetric=True, accuracy_level=4,
                                       op_types_to_quantize=("MatMul", "Gather"),
                                       quant_axes=(("MatMul", 0), ("Gather", 1)))
    q = MatMulNBitsQuantizer(model, algo_config=cfg)
    q.process()
    onnx.save(q.model.model, str(dst))
