"""Capture what every attention layer computes: queries, keys, value norms and attention weights.

Two paths; ``AttentionCapture`` picks one per model on its first batch:

* **interface** (most models in transformers): we register an attention function named
  ``tfvis_capture`` through transformers' ``AttentionInterface``. It calls the model's own
  ``eager_attention_forward`` (so the maths is exactly the model's) and records, per call, q and k
  as they enter the dot product (after any rotary embedding, before grouped-query repetition),
  the norm of each value vector and the weights. Used when it sees one call per layer.
* **hooks** (attention modules that compute attention themselves: MPNet, DeBERTa, ...): forward
  hooks on each attention module's q / k / v projections record their outputs, split into heads
  as the module splits them; the weights are the model's own (``output_attentions=True``).

Both paths check every batch: softmax(scaling · q·k + causal mask) against the model's weights.
Where the model adds relative-position terms to q·k (T5, MPNet, DeBERTa), the captured q, k are
the content part of the score only; the store says so (``summary()``) and keeps the model's own
weights. On the hooks path, a mismatch in any other architecture means we do not know what its
projections feed into the product: a one-line UserError naming it.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TYPE_CHECKING

from ..errors import UserError

if TYPE_CHECKING:
    from torch import nn
    from ..model.load import LoadedModel

CAPTURE_IMPLEMENTATION = "tfvis_capture"
INTERFACE, HOOKS = "attention-interface", "projection-hooks"
#: max |softmax(scaling q·k + mask) - weights| below which q, k reproduce the attention exactly
EXACT_TOLERANCE = 1e-4

#: Names of the (query, key, value) projections of an attention module, per model family.
PROJECTION_NAMES = (
    ("query", "key", "value"),  # BERT, RoBERTa, ELECTRA, ALBERT, ViT
    ("q_proj", "k_proj", "v_proj"),  # Llama, Mistral, BART, Phi, ...
    ("q", "k", "v"),  # MPNet, T5
    ("query_proj", "key_proj", "value_proj"),  # DeBERTa(-v2)
    ("q_lin", "k_lin", "v_lin"),  # DistilBERT
)

#: Architectures whose attention score adds a relative-position term to q·k: what q, k hold there.
RELATIVE_POSITION_TERMS = {
    "t5": "T5 adds a learned relative-position bias per head (bucketed token distance, computed in the first layer and reused by all) to the unscaled q·k",
    "mpnet": "MPNet adds a learned relative-position bias per head (bucketed token distance, shared by all layers) to q·k / sqrt(d_head)",
    "deberta-v2": "DeBERTa adds content-to-position and position-to-content terms (disentangled attention over relative distances) to q·k; all terms are divided by sqrt(d_head x (1 + number of position terms))",
}
for _alias, _family in (("mt5", "t5"), ("umt5", "t5"), ("longt5", "t5"), ("deberta", "deberta-v2")):
    RELATIVE_POSITION_TERMS[_alias] = RELATIVE_POSITION_TERMS[_family]


@dataclass
class AttentionRecord:
    """One attention call (= one layer) on one batch.

    query: (batch, n_heads, seq, d_head); key: (batch, n_kv_heads, seq, d_head);
    value_norms: (batch, n_kv_heads, seq) the L2 norm of each value vector as it enters the
    attention product; weights: (batch, n_heads, seq, seq); scaling: the factor applied to q·k.
    """

    query: Any
    key: Any
    value_norms: Any
    weights: Any
    scaling: float


# ---------------------------------------------------------------------------------------------
# Path 1: transformers' attention interface


class InterfaceRecorder:
    """An attention function that runs the model's own eager attention and records each call."""

    def __init__(self) -> None:
        self.records: list[AttentionRecord] = []

    def __call__(self, module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        eager = getattr(sys.modules[type(module).__module__], "eager_attention_forward", None)
        if eager is None:
            from transformers.models.bert.modeling_bert import eager_attention_forward as eager
        out, weights = eager(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs)
        used_scaling = float(scaling) if scaling is not None else query.shape[-1] ** -0.5
        self.records.append(AttentionRecord(query.detach(), key.detach(), value.detach().norm(dim=-1), weights.detach(), used_scaling))
        return out, weights


_active_recorder: InterfaceRecorder | None = None


def _dispatch(*args, **kwargs):
    if _active_recorder is None:
        raise RuntimeError("tfvis_capture attention called outside capture_via_interface()")
    return _active_recorder(*args, **kwargs)


def _register_capture() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    AttentionInterface.register(CAPTURE_IMPLEMENTATION, _dispatch)
    AttentionMaskInterface.register(CAPTURE_IMPLEMENTATION, ALL_MASK_ATTENTION_FUNCTIONS["eager"])


def uses_attention_interface(model: nn.Module) -> bool:
    """Whether transformers can swap the model's attention function (its own source check; asking
    it through set_attn_implementation would log a warning for every model that cannot)."""
    can_set = getattr(type(model), "_can_set_attn_implementation", None)
    return bool(can_set()) if callable(can_set) else True


@contextmanager
def capture_via_interface(model: nn.Module):
    """Within the block, every forward pass of ``model`` fills the yielded InterfaceRecorder."""
    global _active_recorder
    _register_capture()
    recorder = InterfaceRecorder()
    previous = model.config._attn_implementation
    model.set_attn_implementation(CAPTURE_IMPLEMENTATION)
    _active_recorder = recorder
    try:
        yield recorder
    finally:
        _active_recorder = None
        model.set_attn_implementation(previous)


# ---------------------------------------------------------------------------------------------
# Path 2: hooks on the q / k / v projections


def attention_modules(model: nn.Module) -> list[tuple[Any, tuple[Any, Any, Any]]]:
    """(attention module, its (q, k, v) projection modules) in registration (= layer) order."""
    found = []
    for module in model.modules():
        children = dict(module.named_children())
        for names in PROJECTION_NAMES:
            if all(name in children for name in names):
                found.append((module, tuple(children[name] for name in names)))
                break
    return found


def module_scaling(module: Any, d_head: int) -> float:
    """The factor the module applies to q·k."""
    if isinstance(getattr(module, "scaling", None), (int, float)):
        return float(module.scaling)
    pos_att_type = getattr(module, "pos_att_type", None)
    if pos_att_type is not None:  # DeBERTa: every score term is divided by sqrt(d_head * scale_factor)
        return (d_head * (1 + sum(term in pos_att_type for term in ("c2p", "p2c")))) ** -0.5
    return d_head**-0.5


class HookRecorder:
    """Records the q / k / v projection outputs of each attention-module call.

    A module may call its projections again on other inputs (DeBERTa-v3 projects its relative
    position embeddings with the same query/key layers): only the first call of each projection
    per module call is the content, so each module call opens a slot that the first call fills.
    A module called for several layers (ALBERT shares one block) gets one slot per call.
    """

    def __init__(self, model: nn.Module, d_head: int):
        self.model = model
        self.d_head = d_head
        self.modules = attention_modules(model)
        self.slots: list[dict[str, Any]] = []

    @contextmanager
    def recording(self):
        def open_slot(module, args):
            self.slots.append({"scaling": module_scaling(module, self.d_head)})

        def fill(kind: str):
            def hook(mod, args, output):
                if self.slots and kind not in self.slots[-1]:
                    self.slots[-1][kind] = output.detach()

            return hook

        handles = []
        for module, projections in self.modules:
            handles.append(module.register_forward_pre_hook(open_slot))
            handles += [proj.register_forward_hook(fill(kind)) for kind, proj in zip("qkv", projections)]
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()

    def records(self, attentions: Any) -> list[AttentionRecord]:
        """Pair each slot with the model's own weights ``attentions`` (one (batch, n_heads, seq,
        seq) tensor per layer, as ``output_attentions=True`` returns them)."""
        slots = [s for s in self.slots if all(kind in s for kind in "qkv")]
        if attentions is None or len(slots) != len(attentions):
            return []

        def heads(x: Any) -> Any:  # (batch, seq, n * d_head) -> (batch, n, seq, d_head)
            return x.reshape(*x.shape[:2], -1, self.d_head).transpose(1, 2)

        return [
            AttentionRecord(heads(s["q"]), heads(s["k"]), heads(s["v"]).norm(dim=-1), weights.detach(), s["scaling"])
            for s, weights in zip(slots, attentions)
        ]


# ---------------------------------------------------------------------------------------------
# Choosing a path and checking it


def max_attention_error(records: list[AttentionRecord], lengths: Any, is_causal: bool) -> float:
    """max |softmax(scaling q·k + causal mask) - weights| over the records of one batch, each
    batch row compared on its own (L, L) block (padding excluded)."""
    import torch

    worst = 0.0
    for rec in records:
        n_heads, n_kv = rec.query.shape[1], rec.key.shape[1]
        for row, n in enumerate(lengths):
            n = int(n)
            q = rec.query[row, :, :n].double()
            k = rec.key[row, :, :n].double().repeat_interleave(n_heads // n_kv, dim=0)
            scores = rec.scaling * q @ k.transpose(-1, -2)
            if is_causal:
                scores = scores.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
            diff = (scores.softmax(-1) - rec.weights[row, :, :n, :n].double()).abs().max()
            worst = max(worst, float(diff))
    return worst


class AttentionCapture:
    """Forward passes that return the attention records of every layer, by the interface path
    when it captures every layer of this model, otherwise by projection hooks."""

    def __init__(self, loaded: LoadedModel, path: str | None = None):
        """``path``: None chooses on the first batch; HOOKS forces the hooks path (tests compare)."""
        self.model = loaded.model
        self.info = loaded.info
        self.path = path
        self.max_error = 0.0

    def forward(self, inputs: dict[str, Any], lengths: Any) -> tuple[Any, list[AttentionRecord]]:
        """Run the model on ``inputs`` (hidden states requested); ``lengths``: the unpadded length
        of each batch row. Returns (model output, one AttentionRecord per layer)."""
        n_layers = self.info.n_layers
        if self.path is None:  # first batch: the interface path if it sees every layer
            self.path = INTERFACE if uses_attention_interface(self.model) else HOOKS
            if self.path == INTERFACE:
                out, records = self._via_interface(inputs)
                if len(records) == n_layers:
                    return out, self._checked(records, lengths)
                self.path = HOOKS
        elif self.path == INTERFACE:
            out, records = self._via_interface(inputs)
            if len(records) != n_layers:
                raise RuntimeError(f"captured {len(records)} attention calls, expected {n_layers}")
            return out, self._checked(records, lengths)
        hooks = HookRecorder(self.model, self.info.d_head)
        if not hooks.modules:
            raise self._cannot("no attention module with separate query, key and value projections found")
        with hooks.recording():
            out = self.model(**inputs, output_hidden_states=True, output_attentions=True)
        records = hooks.records(getattr(out, "attentions", None))
        if len(records) != n_layers:
            raise self._cannot(f"captured {len(records)} attention calls with their weights, expected {n_layers}")
        if records[0].query.shape[1] != self.info.n_heads or records[0].key.shape[1] != self.info.n_kv_heads:
            raise self._cannot(f"its q/k projections do not split into {self.info.n_heads} query and {self.info.n_kv_heads} key heads of {self.info.d_head} dims")
        return out, self._checked(records, lengths)

    def _via_interface(self, inputs: dict[str, Any]) -> tuple[Any, list[AttentionRecord]]:
        with capture_via_interface(self.model) as recorder:
            out = self.model(**inputs, output_hidden_states=True)
        return out, recorder.records

    def _checked(self, records: list[AttentionRecord], lengths: Any) -> list[AttentionRecord]:
        error = max_attention_error(records, lengths, self.info.is_causal)
        self.max_error = max(self.max_error, error)
        if self.path == HOOKS and error > EXACT_TOLERANCE and self.info.model_type not in RELATIVE_POSITION_TERMS:
            raise self._cannot(f"softmax of q·k from its q/k projections differs from its attention weights by up to {error:.2g}")
        return records

    def _cannot(self, why: str) -> UserError:
        return UserError(f"{self.info.architecture} ({self.info.model_type}): cannot capture its attention: {why}")

    def summary(self) -> dict[str, Any]:
        """What the captured q, k are and whether they reproduce the stored (model's own) weights."""
        return capture_summary(self.path, self.max_error, self.info.model_type)


def capture_summary(path: str, max_error: float, model_type: str) -> dict[str, Any]:
    """``AttentionCapture.summary`` from its path and worst error (a store's shards, each
    captured in its own process, combine into one summary: the worst error of all)."""
    if path == INTERFACE:
        what = "q and k as they enter the model's attention product (after any rotary embedding, before grouped-query repetition)"
    else:
        what = "q and k as the attention module's q and k projections output them, split into heads as the module splits them"
    exact = max_error <= EXACT_TOLERANCE
    if exact:
        how = "softmax(scaling x q·k + causal mask) reproduces the model's attention weights"
    else:
        extra = RELATIVE_POSITION_TERMS.get(model_type, "the model adds terms to q·k that q and k do not hold (e.g. soft-capping or a sliding-window mask)")
        how = f"they are the content term of the attention score only: {extra}; the stored attention weights are the model's own"
    return {"path": path, "qk_reproduce_attention": exact, "max_abs_error": max_error, "note": f"{what}; {how}"}
