"""Smaller weights for the live model: int8 or fp16 initializers, expanded back to fp32 in the graph.

Both rewrite only the weight initializers of an fp32 ONNX graph and insert the standard ops that
restore them (opset 13+, no com.microsoft ops, so onnxruntime-web runs them too); the
activations and the arithmetic stay fp32. onnxruntime folds these constant sub-graphs into fp32
weights when it creates the session, so inference costs what the fp32 model costs and the file
is 4x (int8) or 2x (fp16) smaller.

* **int8** (weight-only, symmetric): ``W ~ q * s`` with q int8 in [-127, 127] and one scale s per
  output channel and block of INT8_BLOCK inputs: per column of a MatMul's B (K, N) and block of
  rows, per row of an embedding table read by Gather (one token) and block of its entries.
  Restored by ``Reshape(Cast(q) * s)``. The rounding error of a weight is at most s/2 = max|W of
  its block| / 254.
* **fp16**: ``Cast(W as float16)``, relative error <= 2^-11 per weight.

Only weight matrices are compressed: 2-D initializers of at least MIN_ELEMENTS elements read
as a MatMul's or Gemm's B or as a Gather's table (biases and norms stay fp32: they weigh nothing
and some are sensitive).

onnxruntime.quantization.quantize_dynamic (int8 MatMulInteger with activations quantised per
tensor at run time) was measured too and is less accurate on MiniLM at the same size
(docs/live-probe.md): BERT's hidden states have outlier dimensions that one activation scale
per tensor rounds away.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MIN_ELEMENTS = 256
#: Inputs per int8 scale. Measured on MiniLM (quick site, 32 held-out texts; docs/live-probe.md):
#: one scale per output channel 2.43 % activation error, blocks of 128 / 64 / 32: 1.37 / 1.44 /
#: 1.19 % for +2 / +5 / +11 % bytes. 64 divides the widths of MiniLM, GPT-2 and SmolLM2 (384,
#: 768, 576, 1536, ...); a width it does not divide falls back to one scale per channel.
INT8_BLOCK = 64
WEIGHTS = ("int8", "fp16", "fp32")


def compress_onnx(src: Path, dst: Path, weights: str, block: int | None = INT8_BLOCK) -> None:
    """Copy the ONNX file ``src`` to ``dst`` with its weight matrices stored as ``weights``
    ("int8" with one scale per output channel and ``block`` inputs, "fp16"; "fp32" copies the
    file unchanged)."""
    import onnx

    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, not {weights!r}")
    model = onnx.load(str(src))
    if weights != "fp32":
        _compress_graph(model.graph, weights, block)
    onnx.save(model, str(dst))


def _consumers(graph) -> dict[str, list[tuple[object, int]]]:
    """initializer name -> [(node, input index)] of the nodes that read it."""
    out: dict[str, list[tuple[object, int]]] = {}
    for node in graph.node:
        for i, name in enumerate(node.input):
            out.setdefault(name, []).append((node, i))
    return out


def channel_axis(consumers: list[tuple[object, int]], ndim: int) -> int | None:
    """The axis that indexes output channels of a weight read by ``consumers``: rows of a Gather
    table (axis 0), columns of MatMul's B (last axis), rows of Gemm's transposed B; None when
    there are no readers, or they disagree, or are of another kind (then it is not a weight matrix)."""
    axes = set()
    for node, i in consumers:
        if node.op_type == "Gather" and i == 0:
            axes.add(0)
        elif node.op_type == "MatMul" and i == 1:
            axes.add(ndim - 1)
        elif node.op_type == "Gemm" and i == 1:
            trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
            axes.add(0 if trans_b else 1)
        else:
            return None
    return axes.pop() if len(axes) == 1 else None


def quantize_int8(weight: np.ndarray, axis: int, block: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 of a 2-D weight whose output channels run along ``axis``: one scale per
    output channel and per ``block`` consecutive inputs (None, or a block that does not divide
    the input axis: one scale per output channel). Returns (q int8, scale float32), both in the
    blocked shape (in_blocks, block, out) for axis 1 or (out, in_blocks, block) for axis 0, so
    that q * scale reshaped to the weight's shape restores it."""
    n_in = weight.shape[1 - axis]
    size = block if block and n_in % block == 0 else n_in
    if axis == 1:
        blocked, reduce = weight.reshape(n_in // size, size, weight.shape[1]), 1
    else:
        blocked, reduce = weight.reshape(weight.shape[0], n_in // size, size), 2
    scale = (np.maximum(np.abs(blocked).max(axis=reduce, keepdims=True), 1e-30) / 127.0).astype(np.float32)
    q = np.clip(np.rint(blocked / scale), -127, 127).astype(np.int8)
    return q, scale


def _compress_graph(graph, weights: str, block: int | None) -> None:
    from onnx import TensorProto, helper, numpy_helper

    consumers = _consumers(graph)
    kept, new_nodes = [], []
    for init in graph.initializer:
        axis = channel_axis(consumers.get(init.name, []), len(init.dims))
        if init.data_type != TensorProto.FLOAT or len(init.dims) != 2 or int(np.prod(init.dims)) < MIN_ELEMENTS or axis is None:
            kept.append(init)
            continue
        weight = numpy_helper.to_array(init)
        name = init.name
        if weights == "fp16":
            kept.append(numpy_helper.from_array(weight.astype(np.float16), f"{name}__fp16"))
            new_nodes.append(helper.make_node("Cast", [f"{name}__fp16"], [name], to=TensorProto.FLOAT, name=f"{name}__restore"))
            continue
        q, scale = quantize_int8(weight, axis, block)
        kept += [numpy_helper.from_array(q, f"{name}__int8"), numpy_helper.from_array(scale, f"{name}__scale"),
                 numpy_helper.from_array(np.asarray(weight.shape, dtype=np.int64), f"{name}__shape")]
        new_nodes += [
            helper.make_node("Cast", [f"{name}__int8"], [f"{name}__int8_as_float"], to=TensorProto.FLOAT, name=f"{name}__cast"),
            helper.make_node("Mul", [f"{name}__int8_as_float", f"{name}__scale"], [f"{name}__blocked"], name=f"{name}__scale_up"),
            helper.make_node("Reshape", [f"{name}__blocked", f"{name}__shape"], [name], name=f"{name}__restore"),
        ]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # The restoring nodes first: the graph's nodes must stay in topological order.
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(new_nodes + nodes)
