"""Export a text model to ONNX for the live probe: one graph from token ids to every hidden state
and every attention map.

Inputs  ``input_ids`` int64 (1, T), ``attention_mask`` int64 (1, T) (all ones); outputs
``hidden_states`` float32 (L+1, T, d) (index 0 = embedding output, as the store's hidden.npy)
and ``attentions`` float32 (L, H, T, T) (the model's own post-softmax weights, one map per query
head: eager attention repeats GQA's key/value heads before the product). T is dynamic.

Uses torch.onnx's torch.export-based exporter (``dynamo=True``, the default since torch 2.9; it
needs onnxscript); the TorchScript exporter it replaced is deprecated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: ONNX opset of the graph: every op in it has a CPU kernel in onnxruntime (and onnxruntime-web).
OPSET = 18
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAMES = ("hidden_states", "attentions")
#: A text that gives every tokenizer a few pieces: the example input the exporter traces with.
EXAMPLE_TEXT = "The quick brown fox jumps over the lazy dog near the river bank."


def live_wrapper(model: Any) -> Any:
    """The model as an nn.Module ``(input_ids, attention_mask) -> (hidden_states, attentions)``
    for a batch of one: stacked hidden states (L+1, T, d) and attention maps (L, H, T, T)."""
    import torch

    class LiveWrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            kwargs = {"use_cache": False} if "use_cache" in model.config.to_dict() else {}
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True, output_attentions=True, **kwargs)
            return torch.stack(out.hidden_states)[:, 0].float(), torch.stack(out.attentions)[:, 0].float()

    return LiveWrapper().eval()


def example_inputs(tokenizer: Any, max_tokens: int) -> tuple[Any, Any]:
    """(input_ids, attention_mask) of EXAMPLE_TEXT as the site tokenises it, at least 3 tokens
    long (the exporter treats sizes 0 and 1 as special cases)."""
    import torch

    ids = tokenizer(EXAMPLE_TEXT, truncation=True, max_length=max(max_tokens, 3))["input_ids"]
    ids = torch.tensor([ids], dtype=torch.long)
    return ids, torch.ones_like(ids)


def export_onnx(loaded: Any, max_tokens: int, path: Path) -> None:
    """Write the fp32 ONNX graph of ``loaded`` (models.LoadedModel of a text model) to ``path``:
    one self-contained file (no external data), T dynamic up to the site's ``max_tokens``."""
    import torch

    wrapper = live_wrapper(loaded.model)
    ids, mask = example_inputs(loaded.tokenizer, max_tokens)
    tokens = torch.export.Dim("tokens", min=1, max=max(max_tokens, int(ids.shape[1])))
    with torch.no_grad():
        torch.onnx.export(
            wrapper, (ids.to(loaded.device), mask.to(loaded.device)), str(path),
            input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
            dynamic_shapes=({1: tokens}, {1: tokens}),
            opset_version=OPSET, dynamo=True, external_data=False, optimize=True, verbose=False,
        )
