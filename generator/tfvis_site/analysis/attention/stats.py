"""Attention statistics per head, the automatic head label, and the attention data for the views.

All functions take one layer's attention of one sentence, ``A`` of shape (n_heads, L, L) (rows =
queries), and accumulate into a ``LayerAccumulator``.

Text: statistics are averaged over *eligible* queries: non-special tokens that can see at least
two keys (so the first token of a causal model, which must attend to itself, does not count).
"Sink" keys are the special tokens ([CLS], [SEP], <s>, …) and position 0 (GPT-2's first token
plays that role without being special). prev/next/self/local masses count only non-sink keys,
so the classes do not overlap.

Causal models (decoders): query i sees keys j <= i only. The accumulator zeroes every weight
above the diagonal before it counts anything (the captured weights already are 0 there; this
makes it so for any model), so masses, entropies (normalised by log of the number of *visible*
keys), top keys, the aggregate and the stored matrices only hold visible keys. A decoder has no
"next token" label (it cannot see it), and its sink is the first token: BOS when the tokenizer
adds one, else the first word (GPT-2, SmolLM2), the key every query can see.

Images (an image is a "sentence" of prefix tokens — [CLS], DeiT's [DIST], DINOv2's registers —
then a rows x cols grid of patches, see ``PatchUnits``): eligible queries are the patches. The
masses are "self" (the query's own patch), "local2d" (the 8 patches around it in the grid,
Chebyshev distance 1, self excluded) and "sink" (the prefix tokens); these three do not overlap.
Besides the masses, a head gets similarity correlations: for every query patch, the Spearman
correlation between its attention over the other patches (prefix tokens and itself excluded)
and the patches' similarity to it in hue (circular), brightness, and 2D grid position, averaged
over queries. A head "groups patches by colour" when the better of hue / brightness is high.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .normalise import average_ranks

if TYPE_CHECKING:
    import pyarrow as pa

TEXT_LABELS = ("prev", "next", "self", "sink", "positional", "broad", "other")
IMAGE_LABELS = ("self", "local2d", "sink", "colour", "broad", "other")
LABELS = TEXT_LABELS[:-2] + ("local2d", "colour") + TEXT_LABELS[-2:]
#: Every label (text and image). A page of one model should list its ``HeadStatistics.label_texts``.
LABEL_TEXT = {
    "prev": "previous token",
    "next": "next token",
    "self": "self / same token",
    "sink": "first token / [CLS] / [SEP] sink",
    "positional": "positional (local window)",
    "local2d": "2D local (the 8 neighbouring patches)",
    "colour": "colour grouping (similar hue or brightness)",
    "broad": "broad",
    "other": "other",
}
#: Wording for causal text models (decoders) where it differs from LABEL_TEXT.
DECODER_LABEL_TEXT = {"sink": "first token sink (BOS or first word)",
                      "positional": "positional (the last few tokens)"}
#: Wording for image models where it differs from LABEL_TEXT.
IMAGE_LABEL_TEXT = {"self": "self (own patch)", "sink": "[CLS] / prefix-token sink ([DIST], registers)"}
STAT_TEXT = {
    "prev": "mean attention to the previous token",
    "next": "mean attention to the next token",
    "self": "mean attention to itself or the same token",
    "sink": "mean attention to special tokens / the first token",
    "positional": "mean attention within ±{w} positions (no sinks)",
    "local2d": "mean attention to the 8 neighbouring patches (2D grid, self excluded)",
    "colour": "mean per-query Spearman of attention with {feature} similarity over the other patches",
    "broad": "mean normalised attention entropy",
    "other": "largest of the masses above",
}
#: Wording of the statistics for decoders where it differs from STAT_TEXT.
DECODER_STAT_TEXT = {
    "sink": "mean attention to the first token (BOS or first word) and special tokens",
    "positional": "mean attention to the {w} previous tokens and itself (no sinks)",
}
#: Wording of the statistics for image models where it differs from STAT_TEXT.
IMAGE_STAT_TEXT = {
    "self": "mean attention of a patch to itself",
    "sink": "mean attention to the prefix tokens ([CLS], [DIST], registers)",
}
#: The per-head similarity correlations of image models (``head["similarity"]``).
SIMILARITY_FEATURES = ("hue", "brightness", "position")


@dataclass
class PatchUnits:
    """The units of one image: ``row``/``col`` (L,) grid place (-1 for the prefix tokens),
    ``hue`` (L,) in [0, 1) (circular), ``brightness`` (L,). What the image statistics need,
    computed once per image and shared by every layer."""

    row: np.ndarray
    col: np.ndarray
    hue: np.ndarray
    brightness: np.ndarray

    @cached_property
    def patch_index(self) -> np.ndarray:
        """(P,) positions of the patches in the image's unit sequence."""
        return np.flatnonzero(np.asarray(self.row) >= 0)

    @cached_property
    def neighbours(self) -> np.ndarray:
        """(L, L) bool: key j is one of the 8 grid neighbours of query i (Chebyshev distance 1)."""
        r, c = np.asarray(self.row, np.int64), np.asarray(self.col, np.int64)
        cheb = np.maximum(np.abs(r[:, None] - r[None, :]), np.abs(c[:, None] - c[None, :]))
        patch = r >= 0
        return (cheb == 1) & patch[:, None] & patch[None, :]

    @cached_property
    def others(self) -> np.ndarray:
        """(P, P-1) for patch query a, the indices (into patch_index) of every other patch."""
        P = len(self.patch_index)
        full = np.broadcast_to(np.arange(P), (P, P))
        return full[~np.eye(P, dtype=bool)].reshape(P, P - 1)

    @cached_property
    def similarity_ranks(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """feature -> (centred ranks (P, P-1) of the similarity of every other patch to the query
        patch, (P,) sum of squares): similarity = −circular hue distance, −|brightness
        difference|, −Euclidean grid distance."""
        idx = self.patch_index
        hue = np.asarray(self.hue, np.float64)[idx]
        bright = np.asarray(self.brightness, np.float64)[idx]
        r = np.asarray(self.row, np.float64)[idx]
        c = np.asarray(self.col, np.float64)[idx]
        dh = np.abs(hue[:, None] - hue[None, :]) % 1.0
        sims = {
            "hue": -np.minimum(dh, 1.0 - dh),
            "brightness": -np.abs(bright[:, None] - bright[None, :]),
            "position": -np.hypot(r[:, None] - r[None, :], c[:, None] - c[None, :]),
        }
        out = {}
        for name in SIMILARITY_FEATURES:
            x = np.take_along_axis(sims[name], self.others, 1)
            rk = average_ranks(x)
            rk -= rk.mean(-1, keepdims=True)
            out[name] = (rk, (rk * rk).sum(-1))
        return out


@dataclass(frozen=True)
class LabelRule:
    """Thresholds of the head label. Each candidate statistic is divided by its threshold; the
    label is the candidate with the largest ratio if that ratio is at least 1, else "other".

    Text (set from the statistics of all-MiniLM-L6-v2's 72 heads, see docs/attention.md):
    token, sink, local, window, broad.

    Images (patch_*): set from DINOv2-S/14's 72 heads on the 12 default images of
    ``load_image_corpus(None, 12, 0)`` (8 synthetic: hue sweeps, brightness ramps, gratings, a
    checkerboard, blobs; 4 natural photos), 16x16 patches + [CLS] = 257 units. Chance levels:
    self 1/257 = 0.004, local2d <= 8/257 = 0.03, sink 1/257. Where the statistic is a mass on a
    few keys, the threshold sits in the widest gap of its distribution over the heads.

    * ``patch_self`` 0.3, as text "self". No DINOv2 head reaches it: the most self-attending heads
      (L1H0, L1H1, L1H3) put 0.13 on their own patch (30x chance) but more on their neighbours
      or on similar-brightness patches, and are labelled local2d / colour for it.
    * ``patch_local2d`` 0.35: five heads (L1H1, L2H3, L3H1, L3H4, L4H5) put 0.41-0.55 on the 8
      neighbours; the next ones 0.27 and below (gap 0.41 -> 0.27).
    * ``patch_sink`` 0.35 (text: 0.5): seven heads of layers 7-10 put 0.37-0.44 on [CLS], ~100x
      chance for one key out of 257; the next ones 0.33 and below (gap 0.37 -> 0.33). Plain
      DINOv2 dumps much of its late attention on high-norm background patches instead of [CLS]
      (Darcet et al. 2023, "Vision transformers need registers"), so its [CLS] masses stay
      below the text threshold.
    * ``patch_colour`` 0.5 on the better of the hue and brightness correlations (mean per-query
      Spearman; 0 = no relation), a strong rank correlation by the usual convention. Values are
      continuous (17 heads of layers 0-6 at 0.52-0.64, the next at 0.50, 0.49, ...), so this one
      is a convention, not a gap. A head is only a colour candidate when the correlation beats
      its correlation with 2D grid proximity: neighbouring patches share colours, and the 2D
      local heads score 0.2-0.35 on colour for that reason alone. The colour heads are real:
      on the grating images their brightness correlation is 0.5-0.9 while the proximity one is
      -0.1..0.1, and on the hue sweeps their hue correlation is 0.90-0.99 against 0.4-0.55.
    * ``patch_broad`` 0.8: normalised entropy 0.8 over 257 keys means about 257^0.8 = 85
      "effective" keys, a third of the units, the same share as the text threshold 0.65 over a
      ~30-token sentence (30^0.65 = 9); DINOv2's last layer is broad at 0.83-0.95.
    """

    token: float = 0.3  # prev / next / self mass (chance level is ~1/L ≈ 0.04)
    sink: float = 0.5  # mass on special tokens / the first token
    local: float = 0.45  # positional: mass within ±window positions (non-sink keys)
    window: int = 2
    broad: float = 0.65  # mean normalised entropy
    patch_self: float = 0.3
    patch_local2d: float = 0.35
    patch_sink: float = 0.35
    patch_colour: float = 0.5
    patch_broad: float = 0.8


def topk_key_dtype(max_len: int) -> np.dtype:
    """Key positions fit uint8 for sentences (<= 255 tokens, 255 = none); an image of a ViT has
    more units (DINOv2-S/14 at 224 px: 257), so those use uint16 (65535 = none)."""
    return np.dtype(np.uint8 if max_len <= 255 else "<u2")


class HeadStatistics(Protocol):
    """What a head's statistics are for one modality's units (the modality's
    ``head_statistics()``, passed down by the build): the masses counted, how one sequence adds
    to them, and the label."""

    #: the masses a LayerAccumulator sums, per head
    masses: tuple[str, ...]

    def label_texts(self, causal: bool) -> dict[str, str]:
        """Label -> description, for the labels a head can get, in order."""
        ...

    def sequence_units(self, tokens: pa.Table, offsets: np.ndarray) -> list[PatchUnits | None]:
        """Per sample sequence, what ``add`` needs of its units beyond the token ids (from the
        sample's tokens table; ``offsets`` (n_sequences + 1,))."""
        ...

    def add(self, acc: LayerAccumulator, A64: np.ndarray, token_ids: np.ndarray, special: np.ndarray, causal: bool, window: int,
            units: PatchUnits | None) -> None:
        """Add one sequence's attention ``A64`` (n_heads, L, L) float64 to the masses and entropies of ``acc``."""
        ...

    def head(self, acc: LayerAccumulator, h: int, mass: dict[str, float], entropy: float, entropy_norm: float,
             rule: LabelRule) -> dict:
        """The statistics of head ``h`` and its label."""
        ...


class TextHeadStatistics:
    """Tokens: prev / next / self / sink / local masses (module docstring)."""

    masses = ("prev", "next", "self", "sink", "local")

    def label_texts(self, causal: bool) -> dict[str, str]:
        if causal:
            return {k: DECODER_LABEL_TEXT.get(k, LABEL_TEXT[k]) for k in TEXT_LABELS if k != "next"}
        return {k: LABEL_TEXT[k] for k in TEXT_LABELS}

    def sequence_units(self, tokens: pa.Table, offsets: np.ndarray) -> list[PatchUnits | None]:
        return [None] * (len(offsets) - 1)  # the token ids say all

    def add(self, acc: LayerAccumulator, A64: np.ndarray, token_ids: np.ndarray, special: np.ndarray, causal: bool, window: int,
            units: PatchUnits | None) -> None:
        L = A64.shape[1]
        i = np.arange(L)
        visible = (i[None, :] <= i[:, None]) if causal else np.ones((L, L), bool)
        n_visible = visible.sum(1)
        sink = special.copy()
        sink[0] = True
        eligible = (~special) & (n_visible >= 2)
        if not eligible.any():
            return
        rows = A64[:, eligible]  # (H, ne, L)
        qi = i[eligible]
        off = i[None, :] - qi[:, None]  # key - query
        nonsink = ~sink[None, :]
        same = (token_ids[None, :] == token_ids[qi][:, None]) & nonsink
        acc.mass["prev"] += (rows * ((off == -1) & nonsink)).sum((1, 2))
        acc.mass["next"] += (rows * ((off == 1) & nonsink)).sum((1, 2))
        acc.mass["self"] += (rows * same).sum((1, 2))
        acc.mass["sink"] += (rows * sink[None, :]).sum((1, 2))
        acc.mass["local"] += (rows * ((np.abs(off) <= window) & nonsink)).sum((1, 2))
        acc.entropy_of(rows, n_visible[eligible])

    def head(self, acc: LayerAccumulator, h: int, mass: dict[str, float], entropy: float, entropy_norm: float,
             rule: LabelRule) -> dict:
        label, stat = decide_label(mass, entropy_norm, rule, acc.causal)
        return {"mass": mass, "entropy": entropy, "entropy_norm": entropy_norm, "label": label, "label_stat": stat}


class ImageHeadStatistics:
    """Patches: self / local2d / sink masses and the similarity correlations (module docstring)."""

    masses = ("self", "local2d", "sink")

    def label_texts(self, causal: bool) -> dict[str, str]:
        return {k: IMAGE_LABEL_TEXT.get(k, LABEL_TEXT[k]) for k in IMAGE_LABELS}

    def sequence_units(self, tokens: pa.Table, offsets: np.ndarray) -> list[PatchUnits | None]:
        """Per sample image, its ``PatchUnits`` from the image columns of the tokens table."""
        cols = {name: tokens.column(name).to_numpy() for name in ("row", "col", "hue", "brightness")}
        return [PatchUnits(**{name: v[lo:hi] for name, v in cols.items()}) for lo, hi in zip(offsets[:-1], offsets[1:])]

    def add(self, acc: LayerAccumulator, A64: np.ndarray, token_ids: np.ndarray, special: np.ndarray, causal: bool, window: int,
            units: PatchUnits | None) -> None:
        if units is None:
            raise ValueError("an image accumulator needs the image's PatchUnits")
        patches = units
        L = A64.shape[1]
        idx = patches.patch_index
        if len(idx) == 0 or L < 2:
            return
        rows = A64[:, idx]  # (H, P, L): patch queries over every key
        acc.mass["self"] += rows[:, np.arange(len(idx)), idx].sum(1)
        acc.mass["local2d"] += (rows * patches.neighbours[idx][None]).sum((1, 2))
        acc.mass["sink"] += (rows * special[None, None, :]).sum((1, 2))
        acc.entropy_of(rows, np.full(len(idx), L))
        if len(idx) < 4:  # too few other patches for a rank correlation
            return
        over = np.take_along_axis(rows[:, :, idx], patches.others[None], 2)  # (H, P, P-1): other patches only
        ra = average_ranks(over)
        ra -= ra.mean(-1, keepdims=True)
        va = (ra * ra).sum(-1)  # (H, P)
        for name, (rs, ss) in patches.similarity_ranks.items():
            den = np.sqrt(va * ss[None])
            ok = den > 1e-12
            rho = np.where(ok, (ra * rs[None]).sum(-1) / np.where(ok, den, 1.0), 0.0)
            acc.sim_sum[name] += rho.sum(1)
            acc.sim_count[name] += ok.sum(1)

    def head(self, acc: LayerAccumulator, h: int, mass: dict[str, float], entropy: float, entropy_norm: float,
             rule: LabelRule) -> dict:
        sim = {name: float(acc.sim_sum[name][h] / acc.sim_count[name][h]) if acc.sim_count[name][h] else float("nan")
               for name in SIMILARITY_FEATURES}
        label, stat = decide_image_label(mass, sim, entropy_norm, rule)
        return {"mass": mass, "similarity": sim, "entropy": entropy, "entropy_norm": entropy_norm, "label": label, "label_stat": stat}


class LayerAccumulator:
    """Accumulates statistics, aggregate position×position attention, top-k keys and quantised
    full matrices for the heads of one layer, one sentence at a time.

    The statistics are ``statistics``, those of the model's units (its modality's
    ``head_statistics()``; default: TextHeadStatistics): with ImageHeadStatistics every ``add``
    gets the image's ``PatchUnits`` and the image statistics (module docstring) replace the text
    ones."""

    def __init__(self, n_heads: int, n_tokens: int, total_pairs: int, max_len: int, top_k: int, min_weight: float,
                 statistics: HeadStatistics | None = None):
        self.kind = statistics or TextHeadStatistics()
        self.n_heads = n_heads
        self.top_k = top_k
        self.min_weight = min_weight
        self.n_eligible = 0
        self.n_entropy = 0
        self.causal = False  # set by add(): a decoder gets no "next" label
        self.mass = {name: np.zeros(n_heads) for name in self.kind.masses}
        self.sim_sum = {name: np.zeros(n_heads) for name in SIMILARITY_FEATURES}
        self.sim_count = {name: np.zeros(n_heads) for name in SIMILARITY_FEATURES}
        self.entropy = np.zeros(n_heads)  # nats
        self.entropy_norm = np.zeros(n_heads)
        self.agg_sum = np.zeros((n_heads, max_len, max_len))
        self.agg_count = np.zeros((max_len, max_len))
        key_dtype = topk_key_dtype(max_len)
        self.topk_key = np.full((n_heads, n_tokens, top_k), np.iinfo(key_dtype).max, key_dtype)  # key position in sentence
        self.topk_weight = np.zeros((n_heads, n_tokens, top_k), np.float32)
        self.weights_sqrt16 = np.zeros((n_heads, total_pairs), np.uint16)  # quantise_sqrt_u16

    def add(self, A: np.ndarray, token_lo: int, pair_lo: int, token_ids: np.ndarray, special: np.ndarray, causal: bool, window: int,
            patches: PatchUnits | None = None) -> None:
        """A: (n_heads, L, L) float; token_lo: first token index of the sentence in the sample;
        pair_lo: offset of this sentence's L×L block; token_ids, special: (L,); patches: the
        image's units (required for an image accumulator). ``causal``: weights above the
        diagonal (a later key) are zeroed first, so nothing below ever counts a key the query
        cannot see."""
        H, L, _ = A.shape
        self.causal = bool(causal)
        if causal:
            A = np.tril(A)  # the model's own weights are 0 there already; whatever mask it used
        A64 = A.astype(np.float64)
        self.kind.add(self, A64, token_ids, np.asarray(special, bool), causal, window, patches)
        self.agg_sum[:, :L, :L] += A64
        self.agg_count[:L, :L] += 1
        self.weights_sqrt16[:, pair_lo : pair_lo + L * L] = quantise_sqrt_u16(A.reshape(H, L * L))
        k = min(self.top_k, L)
        top = np.argsort(-A, axis=2, kind="stable")[:, :, :k]  # (H, L, k)
        w = np.take_along_axis(A, top, 2)
        keep = w >= self.min_weight
        missing = np.iinfo(self.topk_key.dtype).max
        self.topk_key[:, token_lo : token_lo + L, :k] = np.where(keep, top, missing).astype(self.topk_key.dtype)
        self.topk_weight[:, token_lo : token_lo + L, :k] = np.where(keep, w, 0.0)

    def entropy_of(self, rows: np.ndarray, n_visible: np.ndarray) -> None:
        """Add the entropies of attention ``rows`` (H, n_queries, L) of queries that see
        ``n_visible`` (n_queries,) keys each."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = -np.where(rows > 0, rows * np.log(np.where(rows > 0, rows, 1.0)), 0.0).sum(2)  # (H, ne)
        self.entropy += ent.sum(1)
        self.entropy_norm += (ent / np.log(n_visible)[None, :]).sum(1)
        self.n_eligible += rows.shape[1]

    def head_stats(self, rule: LabelRule) -> list[dict]:
        """Per head: masses, entropies, (images) similarity correlations, and the label with the
        statistic that decided it."""
        n = max(self.n_eligible, 1)
        out = []
        for h in range(self.n_heads):
            # a decoder's "next" mass is 0 by construction: not a statistic worth showing
            m = {name: float(v[h] / n) for name, v in self.mass.items() if not (self.causal and name == "next")}
            out.append(self.kind.head(self, h, m, float(self.entropy[h] / n), float(self.entropy_norm[h] / n), rule))
        return out

    def aggregate(self) -> np.ndarray:
        """(n_heads, P, P) mean attention from query position i to key position j over the
        sentences long enough to hold both (0 where no sentence does)."""
        return (self.agg_sum / np.maximum(self.agg_count, 1)[None]).astype(np.float32)


def decide_label(mass: dict[str, float], entropy_norm: float, rule: LabelRule, causal: bool = False) -> tuple[str, dict]:
    """The first automatic label of a (text) head and the statistic that decided it. A causal
    model's head is never "next" (the next token is masked) and its sink is the first token."""
    def text(label: str) -> str:
        return (DECODER_STAT_TEXT if causal else {}).get(label, STAT_TEXT[label])

    candidates = {
        "prev": (mass["prev"], rule.token, text("prev")),
        "next": (mass.get("next", 0.0), rule.token, text("next")),
        "self": (mass["self"], rule.token, text("self")),
        "sink": (mass["sink"], rule.sink, text("sink")),
        "positional": (mass["local"], rule.local, text("positional").format(w=rule.window)),
        "broad": (entropy_norm, rule.broad, text("broad")),
    }
    if causal:
        del candidates["next"]
    return _pick(candidates)


def decide_image_label(mass: dict[str, float], similarity: dict[str, float], entropy_norm: float, rule: LabelRule) -> tuple[str, dict]:
    """The automatic label of an image head: self, local2d, sink, colour, broad or other, and
    the statistic that decided it. For "colour" the statistic is the better of the hue and
    brightness correlations and ``label_stat["feature"]`` says which; a head is only a "colour"
    candidate when that correlation beats its correlation with 2D grid proximity.
    ``similarity``: mean per-query Spearman correlations (``SIMILARITY_FEATURES``)."""
    def finite(x: float | None) -> float:
        return float(x) if x is not None and np.isfinite(x) else -1.0

    hue, bright, position = (finite(similarity.get(k)) for k in ("hue", "brightness", "position"))
    feature = "hue" if hue >= bright else "brightness"
    colour_name = STAT_TEXT["colour"].format(feature=feature)
    candidates = {
        "self": (mass["self"], rule.patch_self, IMAGE_STAT_TEXT["self"]),
        "local2d": (mass["local2d"], rule.patch_local2d, STAT_TEXT["local2d"]),
        "sink": (mass["sink"], rule.patch_sink, IMAGE_STAT_TEXT["sink"]),
        "colour": (max(hue, bright), rule.patch_colour, colour_name),
        "broad": (entropy_norm, rule.patch_broad, STAT_TEXT["broad"]),
    }
    # Neighbouring patches tend to share their colour: a head whose ranking follows grid
    # proximity at least as well as colour is not grouping by colour (it is local).
    if max(hue, bright) <= position:
        del candidates["colour"]
    label, stat = _pick(candidates)
    if stat["name"].startswith(colour_name):
        stat["feature"] = feature
    return label, stat


def _pick(candidates: dict[str, tuple[float, float, str]]) -> tuple[str, dict]:
    best = max(candidates, key=lambda k: candidates[k][0] / candidates[k][1])
    value, threshold, name = candidates[best]
    if value >= threshold:
        return best, {"name": name, "value": value, "threshold": threshold}
    return "other", {"name": f"{name} (closest to its threshold)", "value": value, "threshold": threshold}


def quantise_sqrt_u16(w: np.ndarray) -> np.ndarray:
    """Attention weights in [0, 1] -> uint16 round(sqrt(w) · 65535); w = (value / 65535)².

    Steps of 3e-5 near 1 (linear uint16: 1.5e-5) but 2.3e-10 near 0, and 3 % of the weight at
    1e-6: a decoder's first-token sink takes 0.99998 of many rows, and hiding it must renormalise
    the rest of the row (~1e-6 per key), which a linear uint16 rounds to 0 or to one noisy step."""
    return np.round(np.sqrt(np.clip(w, 0.0, 1.0)) * 65535.0).astype(np.uint16)


def decode_sqrt_u16(v: np.ndarray) -> np.ndarray:
    """The inverse of ``quantise_sqrt_u16``: float64 weights."""
    x = np.asarray(v, np.float64) / 65535.0
    return x * x
