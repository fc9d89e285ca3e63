"""Low-bit weights (training/lowbit.py, training/lowbit_export.py): packed 2/3/4-bit codes that onnxruntime
unpacks at load and runs as int8, and the fake quantisers training uses. Real ONNX sessions throughout."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="exporting low-bit models needs onnx (the [test] extra has it)")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from training.lowbit_export import QuantisedWeight, pack_codes, rewrite, unpack_codes  # noqa: E402


@pytest.mark.parametrize("bits", [2, 3, 4])
@pytest.mark.parametrize("n", [1, 7, 8, 1000, 4096 + 5])
def test_packing_round_trips_and_takes_bits_per_code(bits, n):
    codes = np.random.default_rng(n).integers(0, 2 ** bits, n).astype(np.uint8)
    packed = pack_codes(codes, bits)
    assert np.array_equal(unpack_codes(packed, bits, n), codes)
    assert packed.size <= n * bits / 8 + 3  # at most one partial group of padding


def _matmul_model(rows: int, cols: int, w: np.ndarray, path):
    """x [b, t, cols] @ w.T, the layout torch's exporter gives a Linear (B = weight transposed)."""
    node = helper.make_node("MatMul", ["x", "B"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "t", cols])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "t", rows])],
                              [numpy_helper.from_array(np.ascontiguousarray(w.T), "B")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_a_packed_matmul_runs_as_one_int8_node_and_matches_the_rounded_weights(bits, tmp_path):
    rows, cols = 96, 64
    rng = np.random.default_rng(bits)
    q = QuantisedWeight(rng.integers(0, 2 ** bits, (rows, cols)), rng.uniform(0.05, 0.2, rows), bits)
    assert set(np.unique(q.levels)) <= set(range(1 - 2 ** bits, 2 ** bits, 2))  # odd levels only: no zero
    _matmul_model(rows, cols, q.rounded, tmp_path / "f.onnx")
    info = rewrite(tmp_path / "f.onnx", tmp_path / "q.onnx", [q], None)
    assert info["matmuls"] == 1
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "opt.onnx")
    session = ort.InferenceSession(str(tmp_path / "q.onnx"), options, providers=["CPUExecutionProvider"])
    x = rng.normal(size=(3, 5, cols)).astype(np.float32)
    y = session.run(None, {"x": x})[0]
    reference = x @ q.rounded.T
    # the activations are quantised to 8 bits at run time, as in the shipped int8 model
    assert np.abs(y - reference).max() < 0.02 * np.abs(reference).max()
    ops = [n.op_type for n in onnx.load(str(tmp_path / "opt.onnx")).graph.node]
    assert ops == ["DynamicQuantizeMatMul"]  # the unpacking subgraph was folded into constants at load


def test_rewrite_refuses_when_a_weight_is_not_in_the_graph(tmp_path):
    rng = np.random.default_rng(0)
    q = QuantisedWeight(rng.integers(0, 4, (8, 8)), np.ones(8), 2)
    _matmul_model(8, 8, q.rounded + 1.0, tmp_path / "f.onnx")
    with pytest.raises(RuntimeError, match="only 0 of 1"):
        rewrite(tmp_path / "f.onnx", tmp_path / "q.onnx", [q], None)


# ------------------------------------------------------------------------------------ training side (torch)


def test_squashed_weights_are_on_the_grid_and_the_regulariser_targets_a_uniform_spread():
    torch = pytest.importorskip("torch", reason="training needs the [train] extra")
    from training import lowbit

    torch.manual_seed(0)
    lin = torch.nn.Linear(256, 32)
    w0 = lin.weight.detach().clone()
    holder = torch.nn.Module()
    holder.layers = torch.nn.ModuleList([lin])
    holder.tok = torch.nn.Embedding(16, 256)
    lowbit.attach(holder, "squash", 2)
    w = lin.weight.detach()
    alpha = lin.parametrizations.weight[0].log_alpha.exp().detach()
    assert torch.allclose(torch.unique(torch.round(w / alpha * 4)).abs().unique(), torch.tensor([1.0, 3.0]))
    # attaching rounds like post-training rounding: the same error as the plain quantiser's
    plain = torch.nn.Linear(256, 32)
    plain.weight.data.copy_(w0)
    holder2 = torch.nn.Module()
    holder2.layers = torch.nn.ModuleList([plain])
    holder2.tok = torch.nn.Embedding(10, 4)
    lowbit.attach(holder2, "plain", 2)
    assert torch.allclose(w, plain.weight.detach(), atol=1e-6)
    # v drawn as atanh(uniform): the moments the regulariser asks for, and every code about equally used
    for m in (lin, holder.tok):
        u = torch.rand(m.weight.shape) * 2 - 1
        m.parametrizations.weight.original.data.copy_(torch.atanh(u.clamp(-0.9999, 0.9999)))
    assert lowbit.squash_penalty(holder) < 0.01
    codes, _, bits = lowbit.codes_and_scales(lin)
    share = torch.bincount(codes.reshape(-1).long(), minlength=4) / codes.numel()
    assert bits == 2 and share.min() > 0.2
    lin.parametrizations.weight.original.data.mul_(0.3)  # too narrow a spread is penalised
    assert lowbit.squash_penalty(holder) > 0.15  # (0.7 x 0.907)^2 on one of the two tensors


def test_fitted_alpha_rounds_better_than_the_largest_weight():
    torch = pytest.importorskip("torch", reason="training needs the [train] extra")
    from training import lowbit

    w = torch.randn(64, 384)
    for bits in (2, 3, 4):
        fitted = lowbit.fit_alpha(w, bits)
        largest = w.abs().amax(dim=1, keepdim=True)

        def err(alpha):
            q = alpha * lowbit.unit_levels(lowbit.unit_codes(torch.clamp(w / alpha, -1, 1), bits), bits)
            return float(((q - w) ** 2).sum())
        assert err(fitted) < err(largest)


def test_the_shipped_variant_is_the_best_on_valid_across_builds_and_within_the_budget(tmp_path):
    pytest.importorskip("torch", reason="training needs the [train] extra")
    import json

    from training.shipping import best_on_valid

    def build(name, variants):
        d = tmp_path / name
        d.mkdir()
        lowbit = {v: {"mode": mode, "bytes": size, "history": [{"valid": {"sentence_acc": acc, "slot_f1": 90.0}}]}
                  for v, mode, size, acc in variants}
        (d / "meta.json").write_text(json.dumps({"metrics": {"lowbit": lowbit}}))
        return d

    a = build("a", [("plain4", "plain", 6e6, 88.0), ("ptq2", "ptq", 3e6, 99.0)])
    b = build("b", [("squash3", "squash", 5e6, 89.0), ("plain4", "plain", 11e6, 95.0)])
    assert best_on_valid([a]) == (a, "plain4")  # rounding-only variants are not candidates
    assert best_on_valid([a, b]) == (b, "squash3")  # b's plain4 is over 10 MB
    with pytest.raises(SystemExit, match="no trained"):
        best_on_valid([a], max_bytes=1_000_000)
