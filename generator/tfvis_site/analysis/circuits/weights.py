"""What each attention head reads and writes: one typed accessor per architecture family.

Conventions are TransformerLens's (row vectors, ``x @ W``):

* ``W_Q[h]`` (d_model, d_head): query of head h is ``x_read @ W_Q[h] + b_Q[h]``;
* ``W_K``, ``W_V`` are stored per key/value head (n_kv_heads, d_model, d_head): grouped-query
  attention (Llama, Mistral) gives query head h the key/value head ``kv_head[h]``;
  ``LayerWeights.k(h)`` / ``v(h)`` return that head's matrices;
* ``W_O[h]`` (d_head, d_model): what head h adds to the attention output, ``z_h @ W_O[h]``
  (DINOv2's LayerScale ``lambda1`` is folded into W_O and b_O: it multiplies the whole output);
* ``x_read`` is what the projections read: ``norm(x)`` for a pre-norm block (``LayerWeights.norm``,
  the LayerNorm / RMSNorm before attention), ``x`` itself for a post-norm block (norm None);
* ``write_norms``: the norms the attention output passes through before it is the next layer's
  hidden state as the activation store holds it (BERT: the attention-output LayerNorm and the
  block's output LayerNorm; GPT-2 / Llama last layer: the final norm, which transformers applies
  before it returns the last hidden state; none otherwise). Their linear parts (gain, centering)
  are what the OV circuit applies; their per-token divisions are positive factors;
* ``W_E`` (d_vocab, d_model) the input embedding matrix (None for a ViT: patches come through a
  convolution); ``W_U`` (d_model, d_vocab) the unembedding of a decoder whose checkpoint has a
  language-model head (tied to W_E, or ``lm_head.weight`` read from the checkpoint's
  safetensors); None for an encoder (BERT's masked-LM head is a non-linear transform, not an
  unembedding) and a ViT;
* ``final_norm``: the norm before the unembedding (GPT-2 ``ln_f``, Llama ``norm``, DINOv2
  ``layernorm``), None for BERT (post-norm: every layer ends in its own LayerNorm).

A family is chosen from ``config.model_type`` (as models.py describes a model); the attention
modules and their scaling are found as capture.py finds them. Adding a family is one more class
with the members of ``Family`` and one entry in ``FAMILIES``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ...capture.qkv import module_scaling


def _np(t: Any) -> np.ndarray:
    return t.detach().to("cpu").float().numpy().copy()


@dataclass(frozen=True)
class Norm:
    """A LayerNorm (``kind`` "layernorm": g ⊙ (x - mean(x)) / sqrt(var(x) + eps) + b) or an
    RMSNorm ("rmsnorm": g ⊙ x / sqrt(mean(x²) + eps)); weight, bias (d,) float32."""

    kind: str
    weight: np.ndarray
    bias: np.ndarray | None
    eps: float

    def linear(self, v: np.ndarray) -> np.ndarray:
        """The norm's linear part on directions ``v`` (..., d): the gain times the centred vector
        (LayerNorm) or times the vector (RMSNorm). The per-token division by the standard
        deviation / RMS is a positive factor of each token, left out; the bias is ``offset``."""
        v = np.asarray(v, dtype=np.float64)
        if self.kind == "layernorm":
            v = v - v.mean(-1, keepdims=True)
        return v * self.weight

    @property
    def offset(self) -> np.ndarray:
        """(d,) what the norm adds whatever the token (its bias; zeros for RMSNorm)."""
        return np.zeros_like(self.weight, dtype=np.float64) if self.bias is None else self.bias.astype(np.float64)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The exact norm of states ``x`` (..., d) (float64), as the module computes it."""
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "layernorm":
            c = x - x.mean(-1, keepdims=True)
            return c / np.sqrt((c * c).mean(-1, keepdims=True) + self.eps) * self.weight + self.offset
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.eps) * self.weight


@dataclass(frozen=True)
class LayerWeights:
    """The attention of one block, per head (float32 numpy). Shapes: W_Q (n_heads, d_model,
    d_head), b_Q (n_heads, d_head); W_K, W_V (n_kv_heads, d_model, d_head), b_K, b_V (n_kv_heads,
    d_head); W_O (n_heads, d_head, d_model), b_O (d_model,); kv_head (n_heads,) int; scaling:
    the factor the model applies to q·k (1/√d_head in every family here); rotary: whether q, k
    are rotated by position (RoPE) after the projections."""

    layer: int
    W_Q: np.ndarray
    b_Q: np.ndarray
    W_K: np.ndarray
    b_K: np.ndarray
    W_V: np.ndarray
    b_V: np.ndarray
    W_O: np.ndarray
    b_O: np.ndarray
    kv_head: np.ndarray
    norm: Norm | None
    write_norms: tuple[Norm, ...]
    scaling: float
    rotary: bool

    @property
    def n_heads(self) -> int:
        return int(self.W_Q.shape[0])

    @property
    def d_head(self) -> int:
        return int(self.W_Q.shape[2])

    def k(self, head: int) -> tuple[np.ndarray, np.ndarray]:
        """(W_K (d_model, d_head), b_K (d_head,)) of query head ``head`` (its key/value head's)."""
        kv = int(self.kv_head[head])
        return self.W_K[kv], self.b_K[kv]

    def v(self, head: int) -> tuple[np.ndarray, np.ndarray]:
        """(W_V (d_model, d_head), b_V (d_head,)) of query head ``head``."""
        kv = int(self.kv_head[head])
        return self.W_V[kv], self.b_V[kv]

    def read(self, v: np.ndarray) -> np.ndarray:
        """The linear part of what the projections read from residual directions ``v`` (..., d):
        the pre-norm's ``linear`` (gain, centring), or ``v`` itself for a post-norm block."""
        return np.asarray(v, dtype=np.float64) if self.norm is None else self.norm.linear(v)

    def read_offset(self, x0: np.ndarray) -> np.ndarray:
        """What the projections read from the shared offset ``x0`` (d,) of every state (e.g. the
        dictionary's mean): ``read(x0)`` plus the norm's bias. Folded into b_Q, b_K, b_V."""
        out = self.read(x0)
        return out if self.norm is None else out + self.norm.offset

    def write(self, v: np.ndarray) -> np.ndarray:
        """What attention output ``v`` (..., d) becomes in the next layer's hidden state, up to
        per-token positive factors: the linear parts of ``write_norms`` in order."""
        v = np.asarray(v, dtype=np.float64)
        for norm in self.write_norms:
            v = norm.linear(v)
        return v


class Family(Protocol):
    """One architecture family: where its attention weights, norms and embeddings live."""

    name: str
    #: config.model_type values it reads
    model_types: tuple[str, ...]

    def blocks(self, model: Any) -> list[Any]:
        """The transformer blocks, in order (hidden state l + 1 is the output of block l)."""
        ...

    def layer_weights(self, model: Any, layer: int) -> LayerWeights: ...

    def output_projection(self, model: Any, layer: int) -> Any:
        """The module whose input is the concatenated heads' outputs (head h at columns
        [h·d_head, (h+1)·d_head)): where a head is zero-ablated."""
        ...

    def attention_module(self, model: Any, layer: int) -> Any:
        """The module that makes block ``layer``'s heads from the block's input. Its output (or
        its output's first element) is the concatenated heads (the output projection's input)
        or, when ``attention_projects``, already through the output projection."""
        ...

    #: whether ``attention_module``'s output is through the output projection
    attention_projects: bool

    def after_attention(self, model: Any, layer: int, x: Any, attention: Any) -> Any:
        """Block ``layer``'s output for tokens whose input is ``x`` (N, d) and whose attention
        module returned ``attention`` (N, ·): the residual, the norms and the MLP, token by
        token (no attention, so no padding and no mask)."""
        ...

    def embedding_output(self, model: Any) -> Any:
        """The module whose output is hidden state 0."""
        ...

    def final_norm(self, model: Any) -> Norm | None: ...

    def final_norm_module(self, model: Any) -> Any:
        """The final norm module (None for a post-norm encoder)."""
        ...

    #: whether the model's last hidden state is already through ``final_norm`` (transformers'
    #: decoders) rather than the residual stream before it
    last_state_normed: bool

    def embedding(self, model: Any) -> np.ndarray | None:
        """W_E (d_vocab, d_model) or None."""
        ...

    def unembedding(self, model: Any, checkpoint: str | Path | None) -> np.ndarray | None:
        """W_U (d_model, d_vocab) or None."""
        ...


def _layernorm(m: Any) -> Norm:
    return Norm("layernorm", _np(m.weight), None if m.bias is None else _np(m.bias), float(m.eps))


def _rmsnorm(m: Any) -> Norm:
    eps = getattr(m, "variance_epsilon", None) or getattr(m, "eps", 1e-6)
    return Norm("rmsnorm", _np(m.weight), None, float(eps))


def _heads_in(weight: np.ndarray, bias: np.ndarray | None, n: int, d_head: int) -> tuple[np.ndarray, np.ndarray]:
    """nn.Linear weight (n·d_head, d_model) -> (n, d_model, d_head), bias -> (n, d_head)."""
    d_model = weight.shape[1]
    W = weight.reshape(n, d_head, d_model).transpose(0, 2, 1)
    b = np.zeros((n, d_head), np.float32) if bias is None else bias.reshape(n, d_head)
    return np.ascontiguousarray(W), b


def _heads_out(weight: np.ndarray, n: int, d_head: int) -> np.ndarray:
    """nn.Linear weight (d_model, n·d_head) -> W_O (n, d_head, d_model)."""
    return np.ascontiguousarray(weight.T.reshape(n, d_head, -1))


def _linear(m: Any) -> tuple[np.ndarray, np.ndarray | None]:
    return _np(m.weight), None if m.bias is None else _np(m.bias)


def _dims(model: Any) -> tuple[int, int, int]:
    cfg = model.config
    n_heads = int(cfg.num_attention_heads)
    n_kv = int(getattr(cfg, "num_key_value_heads", None) or n_heads)
    d_head = int(getattr(cfg, "head_dim", None) or cfg.hidden_size // n_heads)
    return n_heads, n_kv, d_head


def _tied(model: Any) -> bool:
    cfg = model.config
    text = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    return bool(getattr(text, "tie_word_embeddings", False))


def read_lm_head(checkpoint: str | Path | None, key: str = "lm_head.weight") -> np.ndarray | None:
    """(d_vocab, d_model) ``key`` read from a checkpoint folder's safetensors (single file or
    sharded with model.safetensors.index.json), or None when the folder has no such tensor."""
    if not checkpoint:
        return None
    folder = Path(checkpoint)
    index = folder / "model.safetensors.index.json"
    if index.exists():
        weight_map = json.loads(index.read_text()).get("weight_map", {})
        files = [folder / weight_map[key]] if key in weight_map else []
    else:
        files = sorted(folder.glob("*.safetensors"))
    from safetensors import safe_open

    for file in files:
        with safe_open(str(file), framework="pt") as f:
            if key in f.keys():
                return f.get_tensor(key).float().numpy()
    return None


def _qkv_heads(projections: tuple[Any, Any, Any], n_heads: int, n_kv: int, d_head: int) -> tuple[np.ndarray, ...]:
    """W_Q, b_Q (n_heads, d_model, d_head), (n_heads, d_head), then W_K, b_K, W_V, b_V with
    ``n_kv`` heads, from three nn.Linear projections (query, key, value)."""
    q, k, v = (_heads_in(*_linear(module), n, d_head) for module, n in zip(projections, (n_heads, n_kv, n_kv)))
    return (*q, *k, *v)


class BertFamily:
    """Post-norm encoders (BERT, RoBERTa): the block reads its input as is; the attention output
    goes through attention.output.LayerNorm (with the residual) and the block's output LayerNorm."""

    name = "bert"
    model_types = ("bert", "roberta")
    last_state_normed = False

    def blocks(self, model: Any) -> list[Any]:
        return list(model.encoder.layer)

    def layer_weights(self, model: Any, layer: int) -> LayerWeights:
        n_heads, _, d_head = _dims(model)
        block = model.encoder.layer[layer]
        att = block.attention.self
        W_Q, b_Q, W_K, b_K, W_V, b_V = _qkv_heads((att.query, att.key, att.value), n_heads, n_heads, d_head)
        dense = block.attention.output.dense
        return LayerWeights(layer, W_Q, b_Q, W_K, b_K, W_V, b_V, _heads_out(_np(dense.weight), n_heads, d_head), _np(dense.bias),
                            np.arange(n_heads), None, (_layernorm(block.attention.output.LayerNorm), _layernorm(block.output.LayerNorm)),
                            module_scaling(att, d_head), False)

    def output_projection(self, model: Any, layer: int) -> Any:
        return model.encoder.layer[layer].attention.output.dense

    attention_projects = False

    def attention_module(self, model: Any, layer: int) -> Any:
        return model.encoder.layer[layer].attention.self

    def after_attention(self, model: Any, layer: int, x: Any, attention: Any) -> Any:
        block = model.encoder.layer[layer]
        h = block.attention.output(attention, x)  # LayerNorm(dense(heads) + x)
        return block.output(block.intermediate(h), h)

    def embedding_output(self, model: Any) -> Any:
        return model.embeddings

    def final_norm(self, model: Any) -> Norm | None:
        return None

    def final_norm_module(self, model: Any) -> Any:
        return None

    def embedding(self, model: Any) -> np.ndarray | None:
        return _np(model.embeddings.word_embeddings.weight)

    def unembedding(self, model: Any, checkpoint: str | Path | None) -> np.ndarray | None:
        return None


class _DecoderEnds:
    """What the pre-norm decoders share, named per family: the two ends (``EMBEDDING``,
    ``FINAL_NORM`` and how that norm is read): the token embedding, the final norm, and the
    unembedding, which is the embedding when tied, else lm_head.weight from the checkpoint; and
    the block, whose attention module (``ATTENTION``) returns the heads through the output
    projection, added to the residual before the MLP's norm (``MLP_NORM``) and the MLP."""

    EMBEDDING: str
    FINAL_NORM: str
    ATTENTION: str
    MLP_NORM: str
    read_norm: Callable[[Any], Norm]
    attention_projects = True

    def blocks(self, model: Any) -> list[Any]: ...

    def attention_module(self, model: Any, layer: int) -> Any:
        return getattr(self.blocks(model)[layer], self.ATTENTION)

    def after_attention(self, model: Any, layer: int, x: Any, attention: Any) -> Any:
        block = self.blocks(model)[layer]
        h = x + attention
        return h + block.mlp(getattr(block, self.MLP_NORM)(h))

    def final_norm_module(self, model: Any) -> Any:
        return getattr(model, self.FINAL_NORM)

    def final_norm(self, model: Any) -> Norm | None:
        return self.read_norm(self.final_norm_module(model))

    def embedding(self, model: Any) -> np.ndarray | None:
        return _np(getattr(model, self.EMBEDDING).weight)

    def unembedding(self, model: Any, checkpoint: str | Path | None) -> np.ndarray | None:
        W = self.embedding(model) if _tied(model) else read_lm_head(checkpoint)
        return None if W is None else np.ascontiguousarray(W.T)


class GPT2Family(_DecoderEnds):
    """GPT-2: pre-LayerNorm (ln_1), a fused Conv1D c_attn (d_model -> [q | k | v]) and Conv1D
    c_proj (weights stored (in, out), so no transpose); ln_f before the (tied) unembedding."""

    name = "gpt2"
    model_types = ("gpt2",)
    last_state_normed = True
    EMBEDDING, FINAL_NORM, read_norm = "wte", "ln_f", staticmethod(_layernorm)
    ATTENTION, MLP_NORM = "attn", "ln_2"

    def blocks(self, model: Any) -> list[Any]:
        return list(model.h)

    def layer_weights(self, model: Any, layer: int) -> LayerWeights:
        n_heads, _, d_head = _dims(model)
        block = model.h[layer]
        d = n_heads * d_head
        W, b = _np(block.attn.c_attn.weight), _np(block.attn.c_attn.bias)  # (d_model, 3d), (3d,)

        def part(i: int) -> tuple[np.ndarray, np.ndarray]:
            Wi = W[:, i * d : (i + 1) * d].reshape(-1, n_heads, d_head).transpose(1, 0, 2)
            return np.ascontiguousarray(Wi), b[i * d : (i + 1) * d].reshape(n_heads, d_head)

        (W_Q, b_Q), (W_K, b_K), (W_V, b_V) = part(0), part(1), part(2)
        W_O = np.ascontiguousarray(_np(block.attn.c_proj.weight).reshape(n_heads, d_head, -1))
        last = layer == len(model.h) - 1
        return LayerWeights(layer, W_Q, b_Q, W_K, b_K, W_V, b_V, W_O, _np(block.attn.c_proj.bias), np.arange(n_heads),
                            _layernorm(block.ln_1), (_layernorm(model.ln_f),) if last else (), module_scaling(block.attn, d_head), False)

    def output_projection(self, model: Any, layer: int) -> Any:
        return model.h[layer].attn.c_proj

    def embedding_output(self, model: Any) -> Any:
        return model.drop  # wte + wpe, then dropout (identity in eval): hidden state 0



class LlamaFamily(_DecoderEnds):
    """Llama-likes (Llama, SmolLM2, Mistral, Qwen2): RMSNorm (input_layernorm) before attention,
    separate q/k/v/o projections (biases where the model has them), grouped-query attention,
    rotary position embedding applied to q and k after the projections; ``norm`` before the
    unembedding (tied to embed_tokens, or lm_head.weight in the checkpoint)."""

    name = "llama"
    model_types = ("llama", "mistral", "qwen2")
    last_state_normed = True
    EMBEDDING, FINAL_NORM, read_norm = "embed_tokens", "norm", staticmethod(_rmsnorm)
    ATTENTION, MLP_NORM = "self_attn", "post_attention_layernorm"

    def blocks(self, model: Any) -> list[Any]:
        return list(model.layers)

    def layer_weights(self, model: Any, layer: int) -> LayerWeights:
        n_heads, n_kv, d_head = _dims(model)
        block = model.layers[layer]
        att = block.self_attn
        W_Q, b_Q, W_K, b_K, W_V, b_V = _qkv_heads((att.q_proj, att.k_proj, att.v_proj), n_heads, n_kv, d_head)
        o_w, o_b = _linear(att.o_proj)
        b_O = np.zeros(o_w.shape[0], np.float32) if o_b is None else o_b
        last = layer == len(model.layers) - 1
        kv_head = np.arange(n_heads) // (n_heads // n_kv)  # as ModelInfo.kv_head_of
        return LayerWeights(layer, W_Q, b_Q, W_K, b_K, W_V, b_V, _heads_out(o_w, n_heads, d_head), b_O, kv_head,
                            _rmsnorm(block.input_layernorm), (_rmsnorm(model.norm),) if last else (), module_scaling(att, d_head), True)

    def output_projection(self, model: Any, layer: int) -> Any:
        return model.layers[layer].self_attn.o_proj

    def embedding_output(self, model: Any) -> Any:
        return model.embed_tokens


class Dinov2Family:
    """DINOv2 (with or without registers): pre-LayerNorm (norm1), q/k/v/o projections, LayerScale
    ``layer_scale1.lambda1`` on the attention output (folded into W_O, b_O); the final layernorm
    is not part of the hidden states transformers returns. No token embedding, no unembedding."""

    name = "dinov2"
    model_types = ("dinov2", "dinov2_with_registers")
    last_state_normed = False

    def blocks(self, model: Any) -> list[Any]:
        return list(model.encoder.layer)

    def layer_weights(self, model: Any, layer: int) -> LayerWeights:
        n_heads, _, d_head = _dims(model)
        block = model.encoder.layer[layer]
        att = block.attention
        W_Q, b_Q, W_K, b_K, W_V, b_V = _qkv_heads((att.q_proj, att.k_proj, att.v_proj), n_heads, n_heads, d_head)
        o_w, o_b = _linear(att.o_proj)
        lam = _np(block.layer_scale1.lambda1)
        W_O = _heads_out(o_w, n_heads, d_head) * lam
        b_O = (np.zeros(o_w.shape[0], np.float32) if o_b is None else o_b) * lam
        return LayerWeights(layer, W_Q, b_Q, W_K, b_K, W_V, b_V, W_O, b_O, np.arange(n_heads),
                            _layernorm(block.norm1), (), module_scaling(att, d_head), False)

    def output_projection(self, model: Any, layer: int) -> Any:
        return model.encoder.layer[layer].attention.o_proj

    attention_projects = True

    def attention_module(self, model: Any, layer: int) -> Any:
        return model.encoder.layer[layer].attention

    def after_attention(self, model: Any, layer: int, x: Any, attention: Any) -> Any:
        block = model.encoder.layer[layer]
        h = block.drop_path(block.layer_scale1(attention)) + x
        return block.drop_path(block.layer_scale2(block.mlp(block.norm2(h)))) + h

    def embedding_output(self, model: Any) -> Any:
        return model.embeddings

    def final_norm(self, model: Any) -> Norm | None:
        return _layernorm(model.layernorm)

    def final_norm_module(self, model: Any) -> Any:
        return model.layernorm

    def embedding(self, model: Any) -> np.ndarray | None:
        return None

    def unembedding(self, model: Any, checkpoint: str | Path | None) -> np.ndarray | None:
        return None


FAMILIES: tuple[Family, ...] = (BertFamily(), GPT2Family(), LlamaFamily(), Dinov2Family())


def unsupported(model_type: str) -> str | None:
    """Why the circuit analyses cannot read a model of this type, or None when they can."""
    if any(model_type in family.model_types for family in FAMILIES):
        return None
    known = ", ".join(t for f in FAMILIES for t in f.model_types)
    return f"no weight reader for model type {model_type!r} (one of {known})"


def family_of(model: Any) -> Family:
    """The family of a transformers model (its base model, as LoadedModel.model holds it)."""
    model_type = str(model.config.model_type)
    for family in FAMILIES:
        if model_type in family.model_types:
            return family
    raise ValueError(f"circuits: {unsupported(model_type)}")


@dataclass
class ModelWeights:
    """Every layer's LayerWeights plus the embeddings and the final norm of one model.

    layers: one LayerWeights per block; W_E (d_vocab, d_model) or None; W_U (d_model, d_vocab)
    or None; final_norm: Norm or None; last_state_normed: see Family; family: its name."""

    family: str
    layers: list[LayerWeights]
    W_E: np.ndarray | None
    W_U: np.ndarray | None
    final_norm: Norm | None
    last_state_normed: bool
    rope: bool = False  # q and k rotated by position after the projections: QK scores are the content term

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    def unembed_read(self, v: np.ndarray, layer: int) -> np.ndarray:
        """What the unembedding reads from direction ``v`` (..., d) of hidden state ``layer``,
        up to a positive per-token factor: the final norm's linear part, unless that state is
        already through it (a decoder's last hidden state)."""
        v = np.asarray(v, dtype=np.float64)
        if self.final_norm is None or (self.last_state_normed and layer == self.n_layers):
            return v
        return self.final_norm.linear(v)


def model_weights(model: Any, checkpoint: str | Path | None = None) -> ModelWeights:
    """Read every layer's head weights of ``model`` (a transformers base model, e.g.
    ``LoadedModel.model``). ``checkpoint``: its folder (``LoadedModel.info.path``), where an
    untied ``lm_head.weight`` is read from."""
    family = family_of(model)
    layers = [family.layer_weights(model, i) for i in range(len(family.blocks(model)))]
    return ModelWeights(family.name, layers, family.embedding(model), family.unembedding(model, checkpoint),
                        family.final_norm(model), family.last_state_normed, family.name == LlamaFamily.name)
