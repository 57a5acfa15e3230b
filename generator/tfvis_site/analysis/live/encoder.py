"""The dictionary encoder of the live probe: the arrays FactorResult.encode uses, packed into one
file, and the same encoding in numpy (what the browser computes).

Only the TopK SAE's encoder is one matrix product plus a top-k; fista-dl codes each vector by an
iterative lasso solve (FISTA with an m x m Gram matrix: 38 MB at m = 3072, and tens to hundreds
of iterations per token), so a fista-dl site gets no live probe (``unavailable_reason``).
"""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

import numpy as np

from ..factors.statistics import state_norms

if TYPE_CHECKING:
    from ..factors.stage import FactorResult

#: Arrays of ``live/encoder.bin``, in file order; shapes for L+1 hidden-state layers, width d, m factors.
ARRAYS = ("mean", "scale", "W_enc", "b_enc", "b_dec", "massive_norm")
FORMULA = (
    "for the hidden state x (d,) of layer l: z = (x - mean[l]) / scale[l]; "
    "pre = (z - b_dec) @ W_enc + b_enc (m,); keep the k largest entries of pre "
    "(k = min(encoder.k, m)), set every other entry to 0, then relu: activations in reported units; "
    "all 0 when ||x|| > massive_norm[l] (a massive activation)"
)


def unavailable_reason(factors: FactorResult) -> str | None:
    """Why the site's dictionary cannot be encoded in the browser, or None."""
    if factors.config.method != "topk-sae" or factors.sae is None:
        return (f"the {factors.config.method} dictionary codes each token by an iterative lasso solve (FISTA), "
                "which the browser does not run; the live probe needs factors.method = \"topk-sae\"")
    return None


def encoder_arrays(factors: FactorResult) -> dict[str, np.ndarray]:
    """name -> float32 array, in ARRAYS order: mean, scale (L+1, d); W_enc (d, m); b_enc (m,); b_dec (d,);
    massive_norm (L+1,) (inf where nothing is set aside)."""
    source = {"mean": factors.mean, "scale": factors.scale, **factors.sae, "massive_norm": factors.massive_norm}
    return {name: np.ascontiguousarray(source[name], dtype="<f4") for name in ARRAYS}


def pack(arrays: dict[str, np.ndarray]) -> tuple[bytes, dict[str, dict[str, Any]]]:
    """Concatenate float32 arrays -> (bytes, {name: {"dtype", "shape", "offset"}}); offsets in
    bytes (multiples of 4, so a Float32Array can view each array in place)."""
    layout, chunks, offset = {}, [], 0
    for name, array in arrays.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        layout[name] = {"dtype": "float32", "shape": list(array.shape), "offset": offset}
        chunks.append(data)
        offset += len(data)
    return b"".join(chunks), layout


def unpack(payload: bytes, layout: dict[str, dict[str, Any]]) -> dict[str, np.ndarray]:
    """The inverse of ``pack``: name -> float32 array (a view of ``payload``)."""
    out = {}
    for name, spec in layout.items():
        if spec["dtype"] != "float32":
            raise ValueError(f"encoder array {name}: dtype {spec['dtype']} (float32 expected)")
        count = int(np.prod(spec["shape"])) if spec["shape"] else 1
        out[name] = np.frombuffer(payload, dtype="<f4", count=count, offset=spec["offset"]).reshape(spec["shape"])
    return out


def encode(arrays: dict[str, np.ndarray], k: int, hidden: np.ndarray, layer: int) -> np.ndarray:
    """FactorResult.encode for the TopK SAE in numpy: (T, d) hidden states of ``layer`` ->
    (T, m) activations in reported units (FORMULA)."""
    z = (np.asarray(hidden, dtype=np.float32) - arrays["mean"][layer]) / arrays["scale"][layer]
    pre = (z - arrays["b_dec"]) @ arrays["W_enc"] + arrays["b_enc"]
    k = min(k, pre.shape[1])
    top = np.argpartition(-pre, k - 1, axis=1)[:, :k]
    out = np.zeros_like(pre)
    np.put_along_axis(out, top, np.maximum(np.take_along_axis(pre, top, axis=1), 0.0), axis=1)
    if "massive_norm" in arrays:
        out[state_norms(hidden) > arrays["massive_norm"][layer]] = 0.0
    return out
