"""ONNX files with 2, 3 or 4-bit weights that the stock onnxruntime CPU provider runs (docs/decisions.md 41).

onnxruntime's ``MatMulNBits`` runs 2, 4 and 8 bits but not 3, and its per-block scales cost a float per 32
weights (a whole bit per weight on top of 2). Here every quantised weight is stored as its codes packed into a
little-endian bitstream of uint8 plus one float scale per output row. A small subgraph of standard operators
(Reshape, Cast, Mul, ReduceSum, Div, Mod, Add, Slice) unpacks them into int8 levels ``2k + 1 - 2^bits``. Its
inputs are all constants, so onnxruntime folds it away when the session is built (checked: the optimised graph of
a 2-, 3- or 4-bit MatMul is one ``DynamicQuantizeMatMul`` node). The file holds ``bits`` bits per weight, memory
and speed are those of the int8 model, and the runtime loads the file like any other.

* a MatMul whose weight was quantised becomes ``com.microsoft.DynamicQuantizeMatMul(x, levels, alpha / 2^bits)``
  (per-column scales, activations quantised at run time, as in the int8 model);
* the token-embedding Gather becomes a Gather of the int8 levels times the gathered row scale.

The weights are found by value: the exporter is given each quantised module's rounded weight and looks for the
initializer that holds exactly it (transposed for a MatMul), so no name mapping of the torch exporter is trusted.
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["pack_codes", "unpack_codes", "QuantisedWeight", "rewrite"]


def pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Codes (< 2^bits), flattened, as a little-endian bitstream of bytes (padded to whole groups of bytes)."""
    flat = codes.reshape(-1).astype(np.uint8)
    per_group = math.lcm(bits, 8) // bits  # codes per group of lcm(bits, 8) / 8 bytes
    flat = np.concatenate([flat, np.zeros((-len(flat)) % per_group, np.uint8)])
    stream = ((flat[:, None] >> np.arange(bits, dtype=np.uint8)) & 1).reshape(-1)
    return np.packbits(stream, bitorder="little")


def unpack_codes(packed: np.ndarray, bits: int, n: int) -> np.ndarray:
    """The inverse of pack_codes (numpy, for tests)."""
    stream = np.unpackbits(packed, bitorder="little")[: n * bits].reshape(n, bits)
    return (stream << np.arange(bits, dtype=np.uint8)).sum(axis=1).astype(np.uint8)


class QuantisedWeight:
    """One quantised weight: codes [rows, cols] (rows = output channels), alpha per row, bits, and the rounded
    float weight ``alpha * level(codes)`` that the plain export wrote."""

    def __init__(self, codes: np.ndarray, alpha: np.ndarray, bits: int):
        self.codes, self.alpha, self.bits = codes.astype(np.uint8), alpha.reshape(-1).astype(np.float32), bits
        n = 2 ** bits
        self.levels = (2 * self.codes.astype(np.int32) + 1 - n).astype(np.int8)
        self.scale = (self.alpha / n).astype(np.float32)
        self.rounded = (self.levels.astype(np.float32) * self.scale[:, None]).astype(np.float32)


def _key(a: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(a, dtype=np.float32).tobytes()).hexdigest()


def _unpack_graph(prefix: str, packed: np.ndarray, bits: int, shape: tuple[int, ...]) -> tuple[list, list, str]:
    """Nodes and initializers computing int8 levels of ``shape`` from the packed bitstream; returns the output."""
    group = math.lcm(bits, 8) // 8
    per_group = 8 * group // bits
    n = int(np.prod(shape))
    p = prefix
    consts = {
        "packed": packed,
        "groups": np.array([-1, group], np.int64),
        "place": (256 ** np.arange(group)).astype(np.int32).reshape(1, group),
        "axis": np.array([1], np.int64),
        "shift": (2 ** (np.arange(per_group) * bits)).astype(np.int32).reshape(1, per_group),
        "modulus": np.array(2 ** bits, np.int32),
        "two": np.array(2, np.int32),
        "offset": np.array(1 - 2 ** bits, np.int32),
        "flat": np.array([-1], np.int64),
        "start": np.array([0], np.int64),
        "count": np.array([n], np.int64),
        "shape": np.array(shape, np.int64),
    }
    inits = [numpy_helper.from_array(v, f"{p}.{k}") for k, v in consts.items()]
    c = {k: f"{p}.{k}" for k in consts}
    nodes = [
        helper.make_node("Reshape", [c["packed"], c["groups"]], [f"{p}/g"]),
        helper.make_node("Cast", [f"{p}/g"], [f"{p}/g32"], to=TensorProto.INT32),
        helper.make_node("Mul", [f"{p}/g32", c["place"]], [f"{p}/placed"]),
        helper.make_node("ReduceSum", [f"{p}/placed", c["axis"]], [f"{p}/word"], keepdims=1),
        helper.make_node("Div", [f"{p}/word", c["shift"]], [f"{p}/shifted"]),
        helper.make_node("Mod", [f"{p}/shifted", c["modulus"]], [f"{p}/codes"]),
        helper.make_node("Mul", [f"{p}/codes", c["two"]], [f"{p}/twice"]),
        helper.make_node("Add", [f"{p}/twice", c["offset"]], [f"{p}/odd"]),
        helper.make_node("Cast", [f"{p}/odd"], [f"{p}/i8"], to=TensorProto.INT8),
        helper.make_node("Reshape", [f"{p}/i8", c["flat"]], [f"{p}/stream"]),
        helper.make_node("Slice", [f"{p}/stream", c["start"], c["count"]], [f"{p}/cut"]),
        helper.make_node("Reshape", [f"{p}/cut", c["shape"]], [f"{p}/levels"]),
    ]
    return nodes, inits, f"{p}/levels"


def rewrite(src: Path, dst: Path, weights: list[QuantisedWeight], embedding: QuantisedWeight | None) -> dict:
    """Replace the float weights of ``src`` that equal ``weights`` (MatMul B = rounded.T) and ``embedding``
    (the token Gather's table) by packed codes; write ``dst``. Returns counts, and raises if a weight is not
    found (the export would silently stay float)."""
    model = onnx.load(str(src))
    graph = model.graph
    by_key = {_key(w.rounded.T): w for w in weights}
    emb_key = _key(embedding.rounded) if embedding is not None else None
    inits = {i.name: i for i in graph.initializer}
    found: dict[str, QuantisedWeight] = {}
    emb_name = None
    for name, init in inits.items():
        if init.data_type != TensorProto.FLOAT or len(init.dims) != 2:
            continue
        key = _key(numpy_helper.to_array(init))
        if key in by_key:
            found[name] = by_key[key]
        elif key == emb_key:
            emb_name = name
    if len({id(w) for w in found.values()}) != len(by_key) or (embedding is not None and emb_name is None):
        raise RuntimeError(f"only {len(found)} of {len(by_key)} quantised weights (embedding: {emb_name}) were "
                           f"found in {src}")

    new_nodes, new_inits, replaced = [], [], set()
    for node in graph.node:
        if node.op_type == "MatMul" and node.input[1] in found:
            w = found[node.input[1]]
            prefix = f"lowbit{len(replaced)}"
            nodes, more, levels = _unpack_graph(prefix, pack_codes(w.codes.T, w.bits), w.bits, w.codes.T.shape)
            scale = f"{prefix}.scale"
            more.append(numpy_helper.from_array(w.scale, scale))
            new_nodes += nodes + [helper.make_node("DynamicQuantizeMatMul", [node.input[0], levels, scale],
                                                   list(node.output), domain="com.microsoft")]
            new_inits += more
            replaced.add(node.input[1])
        elif node.op_type == "Gather" and emb_name is not None and node.input[0] == emb_name:
            w, prefix = embedding, "lowbit_embedding"
            nodes, more, levels = _unpack_graph(prefix, pack_codes(w.codes, w.bits), w.bits, w.codes.shape)
            more += [numpy_helper.from_array(w.scale, f"{prefix}.scale"),
                     numpy_helper.from_array(np.array([-1], np.int64), f"{prefix}.last")]
            out = node.output[0]
            new_nodes += nodes + [
                helper.make_node("Gather", [levels, node.input[1]], [f"{prefix}/rows"]),
                helper.make_node("Cast", [f"{prefix}/rows"], [f"{prefix}/rows_f"], to=TensorProto.FLOAT),
                helper.make_node("Gather", [f"{prefix}.scale", node.input[1]], [f"{prefix}/row_scale"]),
                helper.make_node("Unsqueeze", [f"{prefix}/row_scale", f"{prefix}.last"], [f"{prefix}/row_scale1"]),
                helper.make_node("Mul", [f"{prefix}/rows_f", f"{prefix}/row_scale1"], [out]),
            ]
            new_inits += more
            replaced.add(emb_name)
        else:
            new_nodes.append(node)
    still_used = {i for n in new_nodes for i in n.input}
    keep = [i for i in graph.initializer if i.name not in replaced or i.name in still_used]
    del graph.node[:]
    graph.node.extend(new_nodes)
    del graph.initializer[:]
    graph.initializer.extend(keep + new_inits)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return {"matmuls": len(replaced) - (emb_name is not None), "embedding": emb_name is not None,
            "bytes": dst.stat().st_size}
