"""The dictionary's quality when spliced into the model.

For each hidden state l (0 = the embeddings' output, L = the last), the states of that layer
are replaced by their dictionary reconstruction (x̂ = FactorResult.reconstruct(encode(x))) and
the model runs on from there (a forward hook on the module whose output is hidden state l):

* **decoder** (causal, with an unembedding; ``mode`` "loss"): the fraction of next-token loss
  recovered, (loss_ablated - loss_spliced) / (loss_ablated - loss_clean): 1 when the splice
  changes nothing, 0 when it is as bad as mean-ablation, which replaces the layer's states by
  their mean over the evaluated tokens. Loss: mean cross-entropy of the next token over every
  position but each sequence's last, logits = last hidden state @ W_U (transformers returns a
  decoder's last hidden state through its final norm).
* **encoder or ViT** (``mode`` "cosine"): the mean over tokens of the cosine between the last
  hidden state with and without the splice (the store's last state: DINOv2's is before its
  final layernorm).

Massive activations (norm above the layer's ``massive_norm``) get no codes in the build, so
they are left as they are, in the splice and in the mean-ablation alike, and not counted in the
mean; ``n_unspliced`` says how many. Padding positions are never replaced.

Cost: per batch one clean pass for the means and one for the states, then per layer one spliced
pass (plus one mean-ablated pass for a decoder) that starts at that layer (common.start_at),
so about (L + 1)/2 · (1 or 2) + 2 full passes. The sequences are batched in order of length
(less padding); the passes run in bf16 where CircuitsConfig.splice_precision says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .common import batch_lengths, batches, hidden_state, replace_state, start_at, to_device
from .weights import Family, ModelWeights

Reconstruct = Callable[[np.ndarray, int], np.ndarray]


@dataclass
class SpliceLayer:
    """One hidden state's splice. mode "loss": recovered, clean_loss, spliced_loss,
    ablated_loss (final_cosine None); mode "cosine": final_cosine (the rest None). n_states:
    evaluated states of the layer; n_unspliced: those left as they were (massive)."""

    layer: int
    mode: str
    recovered: float | None
    final_cosine: float | None
    clean_loss: float | None
    spliced_loss: float | None
    ablated_loss: float | None
    n_states: int
    n_unspliced: int

    def to_dict(self) -> dict[str, Any]:
        """The manifest's entry: {"layer", "recovered"} or {"layer", "final_cosine"}."""
        key = "recovered" if self.mode == "loss" else "final_cosine"
        return {"layer": self.layer, key: getattr(self, key)}


def dictionary_reconstruction(result: Any) -> Reconstruct:
    """(n, d) states of layer l -> their reconstruction from the dictionary's codes."""
    return lambda x, layer: result.reconstruct(result.encode(x, layer), layer)


def _next_token_loss(final: Any, W_U: Any, ids: Any, lengths: np.ndarray) -> tuple[float, int]:
    """(sum of cross-entropies, count) of predicting token t + 1 from the last hidden state
    ``final`` (B, T, d) at position t; logits only at those positions (float32, or bf16 under
    the splice's autocast; the cross-entropy in float32, summed in float64)."""
    import torch

    rows = [r for r, n in enumerate(lengths) if int(n) >= 2]
    if not rows:
        return 0.0, 0
    states = torch.cat([final[r, : int(lengths[r]) - 1] for r in rows]).float()
    targets = torch.cat([ids[r, 1 : int(lengths[r])] for r in rows])
    losses = torch.nn.functional.cross_entropy(states @ W_U, targets, reduction="none")
    return float(losses.double().sum()), int(len(targets))


def _cosines(a: Any, b: Any, lengths: np.ndarray) -> tuple[float, int]:
    """(sum of cosines, count) over the real tokens; a zero vector has cosine 0."""
    total, count = 0.0, 0
    for r, n in enumerate(lengths):
        x, y = a[r, : int(n)].double(), b[r, : int(n)].double()
        denom = (x.norm(dim=-1) * y.norm(dim=-1)).clamp_min(1e-300)
        total += float(((x * y).sum(-1) / denom).sum())
        count += int(n)
    return total, count


def splice_quality(model: Any, family: Family, weights: ModelWeights, units: Any, sequences: np.ndarray, is_causal: bool,
                   result: Any = None, reconstruct: Reconstruct | None = None, layers: list[int] | None = None,
                   massive_norm: np.ndarray | None = None, batch_size: int = 8, device: str = "cpu",
                   precision: str = "fp32") -> list[SpliceLayer]:
    """Splice every hidden state in ``layers`` (None: 0 … L) on the ``sequences`` (indices
    ``units.model_inputs`` takes). ``reconstruct`` (None: the dictionary's, from ``result``)
    maps (n, d) states of layer l to (n, d); ``massive_norm`` (L + 1,) (None: the result's,
    else none) marks the states left as they are. ``precision``: of the forward passes and the
    logits on a CPU, "fp32" or "bf16" (CircuitsConfig.splice_precision); the reconstructions
    are made in fp32 either way."""
    import torch

    from ...capture.extract import autocast

    reconstruct = dictionary_reconstruction(result) if reconstruct is None else reconstruct
    if massive_norm is None:
        massive_norm = np.asarray(result.massive_norm) if result is not None else None
    n_states = weights.n_layers + 1
    layers = list(range(n_states)) if layers is None else list(layers)
    mode = "loss" if is_causal and weights.W_U is not None else "cosine"
    W_U = torch.from_numpy(np.asarray(weights.W_U, np.float32)).to(device) if mode == "loss" else None
    runner = _Runner(model, family, n_states)
    sequences = np.asarray(sequences, np.int64)
    sequences = sequences[np.argsort(np.asarray(units.lengths)[sequences], kind="stable")]  # batches of like lengths pad little
    batched = [(batch, to_device(units.model_inputs(batch), device)) for batch in batches(sequences, batch_size)]
    batched = [(inputs, batch_lengths(inputs, units, batch)) for batch, inputs in batched]
    acc = {layer: {"clean": 0.0, "spliced": 0.0, "ablated": 0.0, "n": 0, "states": 0, "unspliced": 0} for layer in layers}
    with autocast(device, precision):
        cleans = [runner(inputs) for inputs, _ in batched]
        means = _layer_means(cleans, batched, layers, n_states, weights.layers[0].W_Q.shape[1], massive_norm)
        for (inputs, lengths), hidden in zip(batched, cleans):
            _splice_batch(runner, inputs, lengths, hidden, layers, acc, means, reconstruct, massive_norm, W_U)
    return [_splice_layer(layer, mode, acc[layer]) for layer in layers]


class _Runner:
    """Forward passes of ``model``: every hidden state, or the last one with hidden state
    ``layer`` replaced by ``value``: the embeddings' output replaced by a hook; a later state by
    starting there (common.start_at: the blocks before it are not computed); a decoder's last,
    normed state is itself what the unembedding reads."""

    def __init__(self, model: Any, family: Family, n_states: int):
        self.model, self.family, self.n_states = model, family, n_states

    def __call__(self, inputs: dict[str, Any], layer: int | None = None, value: Any = None) -> Any:
        import torch

        with torch.inference_mode():
            if layer is None:
                return self.model(**inputs, output_hidden_states=True).hidden_states
            if layer == self.n_states - 1 and self.family.last_state_normed:
                return value
            if layer == 0:
                with replace_state(self.family, self.model, 0, lambda state: value):
                    return hidden_state(self.family, self.model, inputs, self.n_states - 1)
            with start_at(self.family, self.model, layer, value):
                return hidden_state(self.family, self.model, inputs, self.n_states - 1)


def _kept(x: np.ndarray, layer: int, massive_norm: np.ndarray | None) -> np.ndarray:
    """(n,) bool: the states spliced (not massive)."""
    from ..factors.statistics import state_norms

    return np.ones(len(x), bool) if massive_norm is None else state_norms(x) <= massive_norm[layer]


def _unpadded(state: Any, lengths: list[int]) -> np.ndarray:
    """(n_tokens, d) the rows of a (batch, T, d) state that are not padding."""
    return np.concatenate([state[r, :n].float().cpu().numpy() for r, n in enumerate(lengths)])


def _layer_means(cleans: list, batched: list, layers: list[int], n_states: int, d: int, massive_norm: np.ndarray | None) -> np.ndarray:
    """(L + 1, d) the mean of each layer's (non-massive) states over the evaluated tokens: the
    mean-ablation's replacement. ``cleans``: each batch's hidden states."""
    sums, counts = np.zeros((n_states, d)), np.zeros(n_states)
    for (_, lengths), hidden in zip(batched, cleans):
        for layer in layers:
            x = _unpadded(hidden[layer], lengths)
            keep = _kept(x, layer, massive_norm)
            sums[layer] += x[keep].astype(np.float64).sum(0)
            counts[layer] += keep.sum()
    return sums / np.maximum(counts, 1)[:, None]


def _splice_batch(runner: _Runner, inputs: dict[str, Any], lengths: list[int], hidden: Any, layers: list[int], acc: dict[int, dict[str, Any]],
                  means: np.ndarray, reconstruct: Reconstruct, massive_norm: np.ndarray | None, W_U: Any) -> None:
    """Add one batch's clean, spliced and mean-ablated losses (W_U given) or final-state cosines
    to ``acc``, per layer. ``hidden``: the batch's clean hidden states. A decoder's spliced and
    mean-ablated runs go through the model as one batch of twice the rows."""
    import torch

    last, ids = hidden[-1], inputs.get("input_ids")
    if W_U is not None:
        clean_total, count = _next_token_loss(last, W_U, ids, lengths)
        doubled = {k: torch.cat([v, v]) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
    for layer in layers:
        state = hidden[layer]
        x = _unpadded(state, lengths)
        keep = _kept(x, layer, massive_norm)
        recon = np.where(keep[:, None], np.asarray(reconstruct(x, layer), np.float32), x)
        spliced, ablated = state.clone(), state.clone()
        lo = 0
        for r, n in enumerate(lengths):
            spliced[r, :n] = torch.from_numpy(recon[lo : lo + n]).to(state.dtype)
            ablated[r, :n] = torch.from_numpy(np.where(keep[lo : lo + n, None], means[layer], x[lo : lo + n])).to(state.dtype)
            lo += n
        a = acc[layer]
        a["states"] += len(x)
        a["unspliced"] += int((~keep).sum())
        if W_U is not None:
            both = runner(doubled, layer, torch.cat([spliced, ablated]))
            a["clean"] += clean_total
            a["spliced"] += _next_token_loss(both[: len(lengths)], W_U, ids, lengths)[0]
            a["ablated"] += _next_token_loss(both[len(lengths) :], W_U, ids, lengths)[0]
            a["n"] += count
        else:
            total, count = _cosines(runner(inputs, layer, spliced), last, lengths)
            a["spliced"] += total
            a["n"] += count


def _splice_layer(layer: int, mode: str, a: dict[str, Any]) -> SpliceLayer:
    """One layer's result from its sums: the fraction of the loss recovered (between mean-ablation
    0 and clean 1), or the mean cosine of the final states."""
    n = max(a["n"], 1)
    if mode == "cosine":
        return SpliceLayer(layer, mode, None, a["spliced"] / n, None, None, None, a["states"], a["unspliced"])
    clean, spliced, ablated = a["clean"] / n, a["spliced"] / n, a["ablated"] / n
    gap = ablated - clean
    recovered = (ablated - spliced) / gap if gap != 0 else (1.0 if spliced == clean else float("nan"))
    return SpliceLayer(layer, mode, recovered, None, clean, spliced, ablated, a["states"], a["unspliced"])
