"""The browser's computation in Python: an onnxruntime session on the exported graph (one thread,
like the browser's) and the activations of the live encoder on its hidden states. Shared by the
export's check (export.py), the choice of weights (stage.py) and the reference (reference.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .encoder import encode


def onnx_session(model: Path | bytes) -> Any:
    """An onnxruntime CPU session on an ONNX file or its bytes, one thread (like the browser's)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # no warnings about unused initializers
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), options, providers=["CPUExecutionProvider"])


def run_live(session: Any, arrays: dict[str, np.ndarray], k: int, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The browser's computation: (activations (T, L+1, m), attentions (L, H, T, T))."""
    t = np.asarray([ids], dtype=np.int64)
    hidden, attentions = session.run(["hidden_states", "attentions"], {"input_ids": t, "attention_mask": np.ones_like(t)})
    acts = np.stack([encode(arrays, k, hidden[layer], layer) for layer in range(hidden.shape[0])], 1)
    return acts, attentions
