"""What the circuit analyses share: factor directions in the residual stream, sparse codes of a
store's sentences, running top-k over pair matrices, model inputs and forward hooks."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterator

import numpy as np

from .weights import Family


# ----------------------------------------------------------------------------- factor geometry


def factor_directions(result: Any, layer: int) -> np.ndarray:
    """(m, d) float64: factor i's direction in hidden state ``layer``'s residual stream,
    scale_l ⊙ φ_i: one unit of activation moves the state by this much (x̂ = offset_l +
    scale_l ⊙ (a @ components))."""
    return np.asarray(result.scale[layer], np.float64) * np.asarray(result.components, np.float64)


def factor_offset(result: Any, layer: int) -> np.ndarray:
    """(d,) float64: the point every reconstruction of hidden state ``layer`` starts from, shared
    by all factors: mean_l (+ scale_l ⊙ b_dec for a TopK SAE). The circuit scores fold what the
    projections make of it into their biases."""
    offset = np.asarray(result.mean[layer], np.float64)
    if getattr(result, "sae", None) is not None:
        offset = offset + np.asarray(result.scale[layer], np.float64) * np.asarray(result.sae["b_dec"], np.float64)
    return offset


def active_factors(result: Any, layer: int) -> np.ndarray:
    """(m',) int: the factors the dictionary coded at least once at ``layer`` over the build's
    corpus (FactorResult.active); all factors when that is unknown or empty."""
    active = getattr(result, "active", None)
    if active is not None and np.ndim(active) == 2 and layer < np.shape(active)[1]:
        idx = np.flatnonzero(np.asarray(active)[:, layer] > 0)
        if len(idx):
            return idx
    return np.arange(result.n_components)


def top_pairs(left: np.ndarray, right: np.ndarray, rows: np.ndarray, cols: np.ndarray, top: int, block: int = 512,
              scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The ``top`` largest entries of the (len(rows), len(cols)) matrix scale · left @ right
    (left (len(rows), r), right (r, len(cols)), scale > 0), one block of rows at a time.
    Returns (pairs (k, 2) int [row factor, col factor], scores (k,) float64), best first; ties
    broken by the lower (row, col).

    The blocks are multiplied in float32, at half the cost of float64, only to find candidates:
    a float32 entry of left @ right is within m = (r + 2) 2⁻²³ max‖left_i‖ max‖right_j‖ of the
    exact one (twice the rounding bound of an r-term dot product of rounded inputs), so an entry
    that can reach the top list is within 2m of the float32 values that bound it. The candidates
    are scored exactly in float64: the result is the float64 computation's."""
    if scale <= 0:
        raise ValueError(f"top_pairs takes a positive scale, not {scale}")
    left = np.asarray(left, np.float64)
    right = np.asarray(right, np.float64)
    left32, right32 = left.astype(np.float32), right.astype(np.float32)
    norm = float(np.linalg.norm(left, axis=1).max(initial=0.0) * np.linalg.norm(right, axis=0).max(initial=0.0))
    m = (left.shape[1] + 2) * 2.0**-23 * norm
    best_s = np.empty(0)
    best_p = np.empty((0, 2), np.int64)
    for lo in range(0, len(rows), block):
        b = np.arange(lo, min(lo + block, len(rows)))
        flat = (left32[b] @ right32).ravel()
        # once ``top`` are held, only entries at least as large as the worst of them can enter;
        # before, the top-th largest of the block's first rows bounds it (those rows alone hold
        # ``top`` entries at least as large): a partition of a few rows, not of the block
        if len(best_s) >= top:
            cut = best_s[-1] / scale - m
        else:
            head = flat[: max(top, 32 * len(cols))]
            cut = np.partition(head, len(head) - top)[len(head) - top] - 2 * m if len(head) >= top else -np.inf
        idx = np.flatnonzero(flat >= cut)
        rr, cc = np.divmod(idx, len(cols))
        exact = scale * np.einsum("nd,dn->n", left[b[rr]], right[:, cc])
        if len(exact) > top:  # keep every entry tied with the top-th: the lexsort below decides
            keep = exact >= np.partition(exact, len(exact) - top)[len(exact) - top]
            rr, cc, exact = rr[keep], cc[keep], exact[keep]
        best_s = np.concatenate([best_s, exact])
        best_p = np.concatenate([best_p, np.stack([rows[b[rr]], cols[cc]], 1)])
        order = np.lexsort((best_p[:, 1], best_p[:, 0], -best_s))[:top]
        best_s, best_p = best_s[order], best_p[order]
    return best_p, best_s


# ----------------------------------------------------------------------------- codes of a store


@dataclass
class SampleCodes:
    """Factor activations of the sentences of an attention sample at one layer.

    codes: scipy CSR (n_tokens, m) float64 (massive activations: no codes); offsets
    (n_sentences + 1,) token rows of each sentence within ``codes``; sentences (n_sentences,) the
    store's sentence indices."""

    layer: int
    codes: Any
    offsets: np.ndarray
    sentences: np.ndarray

    def sentence(self, i: int) -> Any:
        """CSR (L, m): the codes of the i-th sentence of the sample."""
        return self.codes[self.offsets[i] : self.offsets[i + 1]]

    @cached_property
    def by_factor(self) -> Any:
        """``codes`` as CSC: column slices of a CSR matrix are slow, one copy serves them all."""
        return self.codes.tocsc()

    def active_in(self, factor: int) -> np.ndarray:
        """(n,) positions i (into ``sentences``) of the sentences where ``factor`` is active at
        some token."""
        by_factor = self.by_factor
        lo, hi = by_factor.indptr[factor], by_factor.indptr[factor + 1]
        rows = by_factor.indices[lo:hi][by_factor.data[lo:hi] > 0]
        return np.unique(np.searchsorted(self.offsets, rows, side="right") - 1)


def sample_codes(store: Any, result: Any, layer: int, sentences: np.ndarray | None = None) -> SampleCodes:
    """Code hidden state ``layer`` of the store's ``sentences`` (None: all) with the dictionary
    (FactorResult.encode, the build's own coding)."""
    from scipy import sparse

    sentences = np.arange(store.n_sentences) if sentences is None else np.asarray(sentences, np.int64)
    off = store.sentence_offsets
    rows = np.concatenate([np.arange(off[s], off[s + 1]) for s in sentences]) if len(sentences) else np.zeros(0, np.int64)
    lengths = np.array([off[s + 1] - off[s] for s in sentences], np.int64)
    states = store.hidden(layer)[rows] if len(rows) else np.zeros((0, store.info.d_model), np.float32)
    codes = result.encode_sparse(states, layer).astype(np.float64) if len(rows) else sparse.csr_matrix((0, result.n_components))
    return SampleCodes(layer, codes, np.concatenate([[0], np.cumsum(lengths)]), sentences)


# ----------------------------------------------------------------------------- model inputs


class StoreTokens:
    """Model inputs of a text store's sentences from the token ids it holds (exactly the tokens
    its states were extracted from): the ``Units`` protocol's ``model_inputs``. Image stores hold
    processed pixels, not the model's inputs: pass the modality's units (``make_units``)."""

    def __init__(self, store: Any, pad_token_id: int = 0):
        if store.info.modality != "text":
            raise ValueError("StoreTokens reads a text store; give an image store's units (modality.make_units)")
        self.ids = store.tokens.column("token_id").to_numpy().astype(np.int64)
        self.offsets = store.sentence_offsets
        self.lengths = np.diff(self.offsets)
        self.pad = int(pad_token_id)

    def model_inputs(self, batch: np.ndarray) -> dict[str, Any]:
        import torch

        width = int(self.lengths[batch].max())
        ids = torch.full((len(batch), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, s in enumerate(batch):
            n = int(self.lengths[s])
            ids[row, :n] = torch.from_numpy(self.ids[self.offsets[s] : self.offsets[s + 1]])
            mask[row, :n] = 1
        return {"input_ids": ids, "attention_mask": mask}


def batch_lengths(inputs: dict[str, Any], units: Any, batch: np.ndarray) -> np.ndarray:
    """(B,) the unpadded length of each batch row."""
    if "attention_mask" in inputs:
        return inputs["attention_mask"].sum(1).cpu().numpy().astype(np.int64)
    return np.asarray(units.lengths)[batch].astype(np.int64)


def batches(items: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for lo in range(0, len(items), size):
        yield items[lo : lo + size]


def to_device(inputs: dict[str, Any], device: str) -> dict[str, Any]:
    return {k: v.to(device) if hasattr(v, "to") else v for k, v in inputs.items()}


# ----------------------------------------------------------------------------- hooks


def state_module(family: Family, model: Any, layer: int) -> Any:
    """The module whose output is hidden state ``layer`` (0: the embeddings; l: block l - 1's
    output; a decoder's last state: its final norm's output)."""
    blocks = family.blocks(model)
    if layer == 0:
        return family.embedding_output(model)
    if layer == len(blocks) and family.last_state_normed:
        return family.final_norm_module(model)
    return blocks[layer - 1]


def _first(output: Any) -> Any:
    return output[0] if isinstance(output, tuple) else output


def _replace_first(output: Any, value: Any) -> Any:
    return (value, *output[1:]) if isinstance(output, tuple) else value


class _Stop(Exception):
    pass


@contextmanager
def capture_attention(family: Family, model: Any, layer: int):
    """Within the block, forward passes append to the yielded lists (outputs, heads): what block
    ``layer``'s attention module returns (its first element), and the output projection's input,
    the concatenated heads (B, T, H·d_head), one of each per pass: what ``without_head`` needs."""
    outputs: list[Any] = []
    heads: list[Any] = []
    module, projection = family.attention_module(model, layer), family.output_projection(model, layer)
    handles = [module.register_forward_hook(lambda module, args, output: outputs.append(_first(output).detach())),
               projection.register_forward_pre_hook(lambda module, args: heads.append(args[0].detach()))]
    try:
        yield outputs, heads
    finally:
        for handle in handles:
            handle.remove()


def without_head(family: Family, model: Any, layer: int, attention: Any, heads: Any, head: int, d_head: int) -> Any:
    """What block ``layer``'s attention module returns without head ``head``, from what it returned
    (``attention``, (N, ·)) and its heads (``heads``, (N, H·d_head); capture_attention): that
    head's columns zeroed or, when the module's output is through the output projection, that
    head's term of the projection subtracted (exactly nothing for a head whose slice of the
    projection is zero)."""
    import torch

    cols = slice(head * d_head, (head + 1) * d_head)
    if not family.attention_projects:
        value = attention.clone()
        value[..., cols] = 0
        return value
    projection = family.output_projection(model, layer)
    # nn.Linear keeps its weight as (out, in), GPT-2's Conv1D as (in, out)
    W = projection.weight[:, cols].T if isinstance(projection, torch.nn.Linear) else projection.weight[cols]
    return attention - heads[..., cols] @ W


def block_after_attention(family: Family, model: Any, layer: int, x: Any, attention: Any) -> Any:
    """Hidden state ``layer`` + 1 of tokens whose block input is ``x`` (N, d) and whose attention
    module returned ``attention``: Family.after_attention, and the final norm after a decoder's
    last block (the hidden state transformers returns there)."""
    out = family.after_attention(model, layer, x, attention)
    if layer == len(family.blocks(model)) - 1 and family.last_state_normed:
        out = family.final_norm_module(model)(out)
    return out


@contextmanager
def replace_state(family: Family, model: Any, layer: int, value: Callable[[Any], Any]):
    """Within the block, hidden state ``layer`` is ``value(state)`` (a (B, T, d) tensor ->
    tensor of the same shape) and the model runs on from there."""

    def hook(module, args, output):
        return _replace_first(output, value(_first(output)))

    handle = state_module(family, model, layer).register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


@contextmanager
def capture_state(family: Family, model: Any, layer: int):
    """Within the block, forward passes append hidden state ``layer`` (detached) to the yielded list."""
    got: list[Any] = []

    def hook(module, args, output):
        got.append(_first(output).detach())

    handle = state_module(family, model, layer).register_forward_hook(hook)
    try:
        yield got
    finally:
        handle.remove()


@contextmanager
def start_at(family: Family, model: Any, layer: int, state: Any):
    """Within the block, a forward pass does not compute blocks 0 … layer - 1: block layer - 1
    returns ``state`` (B, T, d), the given hidden state ``layer``, and the blocks before it return
    their input unchanged (their ``forward`` is swapped for the duration). The embeddings, masks
    and position embeddings are still made by the model's own forward, so block ``layer`` sees
    exactly what it sees in a full pass whose hidden state ``layer`` is ``state``. Layer 0:
    nothing is skipped."""
    blocks = family.blocks(model)

    def passthrough(*args, **kwargs):
        return args[0] if args else kwargs["hidden_states"]

    patched = []
    try:
        for k in range(layer):
            blocks[k].forward = (lambda *args, **kwargs: state) if k == layer - 1 else passthrough
            patched.append(blocks[k])
        yield
    finally:
        for block in patched:
            del block.forward


def hidden_state(family: Family, model: Any, inputs: dict[str, Any], layer: int) -> Any:
    """(B, T, d) hidden state ``layer`` of a forward pass on ``inputs``; the layers after it are
    not run."""
    import torch

    got: list[Any] = []

    def hook(module, args, output):
        got.append(_first(output).detach())
        raise _Stop

    handle = state_module(family, model, layer).register_forward_hook(hook)
    try:
        with torch.inference_mode():
            model(**inputs)
    except _Stop:
        pass
    finally:
        handle.remove()
    return got[0]
