"""The live probe's data files and manifest section (the contract: docs/data-contract.md, Live probe).

Like every data file, each live file ships once, as its .js twin (docs/data-contract.md); the
pages load it from file:// and http alike (docs/live-probe.md).
"""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

from .encoder import FORMULA, encoder_arrays, pack
from .export import OPSET
from .stage import LiveExport

if TYPE_CHECKING:
    from ...site.bundles import BundleWriter
    from ..factors.stage import FactorResult
    from ...model.load import ModelInfo

DESCRIPTIONS = {
    "int8": "int8 weights (symmetric, one scale per output channel / embedding row), fp32 arithmetic",
    "fp16": "fp16 weights, fp32 arithmetic",
    "fp32": "fp32 weights",
}


def write_live_bundle(live: LiveExport, factors: FactorResult, info: ModelInfo, max_tokens: int, bundle: BundleWriter) -> dict[str, Any]:
    """live/model.onnx, live/tokenizer.json, live/encoder.bin (their .js twins) -> manifest["live"]."""
    names = {"model": "live/model.onnx", "tokenizer": "live/tokenizer.json", "encoder": "live/encoder.bin"}
    bundle.add_bytes(names["model"], live.model_file.read_bytes(), "onnx", weights=live.weights)
    bundle.add_bytes(names["tokenizer"], (live.folder / "tokenizer.json").read_bytes(), "json")
    payload, layout = pack(encoder_arrays(factors))
    bundle.add_bytes(names["encoder"], payload, "float32-arrays")
    meta = live.tokenizer_meta
    n_special = len(meta["prefix"]) + len(meta["suffix"])
    return {
        "model": names["model"],
        "weights": live.weights,
        "quantisation": DESCRIPTIONS[live.weights],
        "exporter": f"torch.onnx ({live.exporter}), opset {OPSET}",
        "inputs": {"input_ids": "int64 [1, T]", "attention_mask": "int64 [1, T], all ones"},
        "outputs": {"hidden_states": "float32 [L+1, T, d], index 0 = embedding output",
                    "attentions": "float32 [L, H, T, T], post-softmax, one map per query head"},
        "tokenizer": names["tokenizer"],
        "tokenizer_kind": meta["kind"],
        "special_tokens": {"prefix": meta["prefix"], "suffix": meta["suffix"]},
        "truncation": f"keep the first max_tokens - {n_special} pieces, then add the prefix and suffix special tokens",
        "encoder": {
            "file": names["encoder"], "method": factors.config.method, "k": int(factors.config.sae_k),
            "n_factors": int(factors.n_components), "d_model": int(info.d_model), "arrays": layout, "formula": FORMULA,
        },
        "max_tokens": int(max_tokens),
        "n_layers": int(info.n_layers),
        "n_heads": int(info.n_heads),
        "causal": bool(info.is_causal),
        "accuracy": live.accuracy,
        "bytes": sum(bundle.files[name]["twin_bytes"] for name in names.values()),
    }
