"""Export a text model to ONNX for the live probe: one graph from token ids to every hidden state
and every attention map.

Inputs  ``input_ids`` int64 (1, T), ``attention_mask`` int64 (1, T) (all ones); outputs
``hidden_states`` float32 (L+1, T, d) (index 0 = embedding output, as the store's hidden.npy)
and ``attentions`` float32 (L, H, T, T) (the model's own post-softmax weights, one map per query
head: eager attention repeats GQA's key/value heads before the product). T is dynamic.

Two exporters, checked the same way (``verify_export``: onnxruntime against PyTorch at three
lengths, so a graph that baked in the example's length is caught):

* the TorchScript exporter (``dynamo=False``) first: deprecated since torch 2.9 but present in
  the pinned torch 2.13, exact on BERT, GPT-2 and Llama (1e-7), and 10x faster here (1.5 s vs
  16-20 s on a tiny model: torch.export 4.6 s + translation 12 s), which every build pays;
* the torch.export-based exporter (``dynamo=True``, the default since torch 2.9; needs
  onnxscript) when the first fails or does not verify.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn
    from ...model.load import LoadedModel

#: ONNX opset of the graph: every op in it has a CPU kernel in onnxruntime (and onnxruntime-web).
OPSET = 18
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAMES = ("hidden_states", "attentions")
#: A text that gives every tokenizer a few pieces: the example input the exporter traces with.
EXAMPLE_TEXT = "The quick brown fox jumps over the lazy dog near the river bank."


def live_wrapper(model: nn.Module) -> nn.Module:
    """The model as an nn.Module ``(input_ids, attention_mask) -> (hidden_states, attentions)``
    for a batch of one: stacked hidden states (L+1, T, d) and attention maps (L, H, T, T)."""
    import inspect

    import torch

    # decoders: no key/value cache in the outputs (one pass over the whole text)
    kwargs = {"use_cache": False} if "use_cache" in inspect.signature(model.forward).parameters else {}

    class LiveWrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
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


def export_onnx(loaded: LoadedModel, max_tokens: int, path: Path) -> str:
    """Write the fp32 ONNX graph of ``loaded`` (models.LoadedModel of a text model) to ``path``:
    one self-contained file (no external data), T dynamic. Returns the exporter used
    ("torchscript" | "dynamo"); raises the last error when neither gives a verified graph."""
    import warnings

    import torch

    wrapper = live_wrapper(loaded.model)
    ids, mask = example_inputs(loaded.tokenizer, max_tokens)
    args = (ids.to(loaded.device), mask.to(loaded.device))
    common = dict(input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES), opset_version=OPSET, verbose=False)
    error: Exception | None = None
    for exporter in ("torchscript", "dynamo"):
        try:
            with torch.no_grad(), warnings.catch_warnings(), _quiet_exporter():
                warnings.simplefilter("ignore")  # TracerWarnings about Python ints in the model code: verify_export checks the result
                if exporter == "torchscript":
                    torch.onnx.export(wrapper, args, str(path), dynamo=False, dynamic_axes={name: {1: "tokens"} for name in INPUT_NAMES}, **common)
                else:
                    tokens = torch.export.Dim("tokens", min=1, max=max(max_tokens, int(ids.shape[1])))
                    torch.onnx.export(wrapper, args, str(path), dynamo=True, dynamic_shapes=({1: tokens}, {1: tokens}), external_data=False, optimize=True, **common)
            verify_export(wrapper, path, max_tokens, loaded.device)
            return exporter
        except Exception as e:  # noqa: BLE001 - try the other exporter; the caller reports the last error
            error = e
    assert error is not None
    raise error


#: Largest |onnxruntime - PyTorch| of a verified export, relative to the output's largest value
#: (fp32 both: measured 5e-7 absolute on hidden states of magnitude ~3).
VERIFY_TOLERANCE = 1e-3


def verify_export(wrapper: Any, path: Path, max_tokens: int, device: str) -> None:
    """Run the ONNX file at 1, a middle and ``max_tokens`` tokens against ``wrapper``; raise
    ValueError when an output differs by more than VERIFY_TOLERANCE (or has another shape)."""
    import numpy as np
    import torch

    from .runtime import onnx_session

    session = onnx_session(path)
    generator = torch.Generator().manual_seed(0)
    vocab = int(wrapper.model.get_input_embeddings().num_embeddings)
    for n in sorted({1, max(2, max_tokens // 2), max_tokens}):
        ids = torch.randint(0, vocab, (1, n), generator=generator)
        with torch.no_grad():
            expected = [t.cpu().numpy() for t in wrapper(ids.to(device), torch.ones_like(ids).to(device))]
        got = session.run(list(OUTPUT_NAMES), {"input_ids": ids.numpy(), "attention_mask": np.ones_like(ids.numpy())})
        for name, want, have in zip(OUTPUT_NAMES, expected, got):
            if want.shape != have.shape or np.abs(have - want).max() > VERIFY_TOLERANCE * max(1.0, float(np.abs(want).max())):
                raise ValueError(f"the exported {name} differ from PyTorch's at {n} tokens")


def _quiet_exporter() -> Any:
    """Silence the exporters' progress prints and logging (the build has its own progress bar)."""
    import contextlib
    import io
    import logging

    @contextlib.contextmanager
    def quiet():
        loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._export", "onnxscript", "torch._dynamo", "torch.fx")]
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)

    return quiet()
