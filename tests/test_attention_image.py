"""Attention stage on vision transformers: image units carried into the sample's tokens table,
image head labels (self, 2D local, [CLS] sink, colour grouping, broad) on hand-made attention
with known answers, uint16 top-k key positions when an image has more than 255 units."""

import json

import numpy as np
import pyarrow as pa
import pytest

from tfvis_site.analysis.attention import AttentionConfig, analyse_attention
from tfvis_site.analysis.attention.stage import BASE_TOKEN_COLUMNS, token_table
from tfvis_site.analysis.attention.stats import (
    IMAGE_LABELS,
    LabelRule,
    LayerAccumulator,
    PatchUnits,
    ImageHeadStatistics,
    decide_image_label,
)
from tfvis_site.capture.extract import ExtractOptions, extract
from tfvis_site.corpus.images import load_image_corpus
from tfvis_site.modality import IMAGE
from tfvis_site.model.load import wrap_model
from tfvis_site.progress import Reporter

from tiny import make_image_model, make_image_processor

#: kind -> (image size, patch size): the ViT gets 16x16 patches + [CLS] = 257 units (> 255: the
#: uint16 key positions); DINOv2 with 2 registers 4x4 patches + 3 prefix tokens = 19 units.
KINDS = {"vit": (64, 4), "dinov2_registers": (32, 8)}
N_IMAGES = 4


@pytest.fixture(scope="module")
def image_runs(tmp_path_factory):
    corpus = load_image_corpus("synthetic", N_IMAGES, 0)
    # min_weight 0: a random tiny model attends almost uniformly (1/257 < 0.005), keep every top key
    cfg = AttentionConfig(projections=("pca",), dims=(2,), n_jobs=1, trust_sample=100, max_pairs=5_000, min_weight=0.0)
    out = {}
    for kind, (size, patch) in KINDS.items():
        loaded = wrap_model(make_image_model(kind, image_size=size, patch_size=patch), None, f"tiny-{kind}", processor=make_image_processor(kind, image_size=size),
                            modality=IMAGE)
        store = extract(loaded, corpus.images, tmp_path_factory.mktemp(f"store-{kind}"), ExtractOptions(batch_size=4, capture_attention=True),
                        Reporter.silent(), names=corpus.names, modality=IMAGE)
        res = analyse_attention(store, cfg, tmp_path_factory.mktemp(f"attn-{kind}"), Reporter.silent(), statistics=ImageHeadStatistics())
        out[kind] = (store, res)
    return out


@pytest.mark.parametrize("kind", list(KINDS))
def test_tokens_table_carries_the_image_columns(image_runs, kind):
    store, res = image_runs[kind]
    tokens, src = res.tokens, store.tokens
    assert store.info.modality == "image" and store.image is not None and tokens.num_rows == store.n_tokens
    extra = [c for c in src.column_names if c not in BASE_TOKEN_COLUMNS]
    assert {"row", "col", "hue", "saturation", "brightness", "frequency", "colour_r", "colour_g", "colour_b"} <= set(extra)
    # text columns first (as for text stores), then the store's unit columns in the store's order
    text_columns = ["token", "sentence", "source_sentence", "position", "length", "position_norm", "token_id", "piece", "text",
                    "space_before", "is_special", "is_punct", "frequency"]
    assert tokens.column_names == text_columns + [c for c in extra if c != "frequency"]
    for name in extra:  # the sample is every image here, so rows line up with the store
        assert tokens.schema.field(name).type == src.schema.field(name).type, name
        np.testing.assert_array_equal(tokens.column(name).to_numpy(), src.column(name).to_numpy(), err_msg=name)
    assert tokens.schema.field("frequency").type == pa.float32()  # spatial frequency, not a count
    assert not any(tokens.column("is_punct").to_pylist())
    n_prefix = store.image["n_prefix_tokens"]
    rows = tokens.column("row").to_numpy().reshape(N_IMAGES, -1)
    assert (rows[:, :n_prefix] == -1).all() and (rows[:, n_prefix:] >= 0).all()
    assert tokens.column("is_special").to_numpy(zero_copy_only=False).reshape(N_IMAGES, -1)[:, :n_prefix].all()
    # deterministic: the same sample gives the same table
    again, _, _ = token_table(store, np.arange(store.n_sentences))
    assert again.equals(tokens)


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_head_gets_an_image_label_and_both_statistics(image_runs, kind):
    store, res = image_runs[kind]
    meta = json.loads((res.path / "result.json").read_text())
    assert meta["modality"] == "image" and meta["labels"] == ImageHeadStatistics().label_texts(False)
    assert set(meta["labels"]) == set(IMAGE_LABELS)
    for key in ("spearman_paper_before", "spearman_paper_after"):
        assert set(meta["summary"][key]) == {"mean", "min", "max"} and -1 <= meta["summary"][key]["mean"] <= 1
        assert key in meta["statistics"]
    assert len(res.heads) == store.info.n_layers * store.info.n_heads
    for h in res.heads:
        assert h["label"] in IMAGE_LABELS and h["label_text"] == ImageHeadStatistics().label_texts(False)[h["label"]]
        assert set(h["mass"]) == {"self", "local2d", "sink"}
        assert 0 <= h["mass"]["self"] + h["mass"]["local2d"] + h["mass"]["sink"] <= 1 + 1e-9
        assert set(h["similarity"]) == {"hue", "brightness", "position"}
        assert all(v is None or -1 <= v <= 1 for v in h["similarity"].values())
        assert -1 <= h["spearman_paper_before"] <= 1 and -1 <= h["spearman_paper_after"] <= 1
        assert np.isfinite(h["label_stat"]["value"]) and h["label_stat"]["threshold"] > 0
        if h["label"] == "colour":
            assert h["label_stat"]["feature"] in ("hue", "brightness")


@pytest.mark.parametrize("kind", list(KINDS))
def test_topk_key_positions_are_valid(image_runs, kind):
    store, res = image_runs[kind]
    keys, weights = res.topk()
    L = int(store.sentence_offsets[1] - store.sentence_offsets[0])
    assert keys.dtype == (np.uint16 if L > 255 else np.uint8)
    assert (L > 255) == (kind == "vit")
    missing = np.iinfo(keys.dtype).max
    keys = np.asarray(keys)
    assert np.all((keys < L) | (keys == missing))
    if kind == "vit":
        assert keys[keys != missing].max() > 255  # positions that only fit uint16 do occur
    assert np.all((keys == missing) == (np.asarray(weights) == 0))
    H, min_weight = store.info.n_heads, res.config.min_weight
    for layer in range(store.info.n_layers):
        for s in range(store.n_sentences):
            lo, hi = store.sentence_offsets[s], store.sentence_offsets[s + 1]
            A = store.attention(layer, s)
            for h in range(H):
                g = layer * H + h
                kept = A[h].max(1) >= min_weight
                np.testing.assert_array_equal(keys[g, lo:hi, 0], np.where(kept, A[h].argmax(1), missing))  # strongest key first
                np.testing.assert_allclose(np.asarray(weights)[g, lo:hi, 0], np.where(kept, A[h].max(1), 0.0), atol=1e-6)
                top = keys[g, lo:hi]
                ok = top != missing
                np.testing.assert_allclose(np.take_along_axis(A[h], np.where(ok, top, 0).astype(np.int64), 1)[ok], np.asarray(weights)[g, lo:hi][ok], atol=1e-6)


# --- hand-made attention with known labels -------------------------------------------------

ROWS, COLS, PREFIX = 6, 6, 1


def hand_made_image(seed: int = 0) -> tuple[PatchUnits, np.ndarray]:
    """[CLS] + a 6x6 grid; hue and brightness random per patch (unrelated to position)."""
    rng = np.random.default_rng(seed)
    P = ROWS * COLS
    row = np.concatenate([[-1] * PREFIX, np.repeat(np.arange(ROWS), COLS)])
    col = np.concatenate([[-1] * PREFIX, np.tile(np.arange(COLS), ROWS)])
    hue = np.concatenate([[0.0] * PREFIX, rng.permutation(P) / P]).astype(np.float32)
    bright = np.concatenate([[0.5] * PREFIX, rng.permutation(P) / P]).astype(np.float32)
    special = np.arange(PREFIX + P) < PREFIX
    return PatchUnits(row=row, col=col, hue=hue, brightness=bright), special


def rows_following(similarity: np.ndarray, beta: float) -> np.ndarray:
    """(P, P) attention over the other patches, decreasing in the given distance (self gets 0)."""
    w = np.exp(-beta * similarity)
    np.fill_diagonal(w, 0.0)
    return w / w.sum(1, keepdims=True)


def test_image_labels_from_hand_made_attention():
    units, special = hand_made_image()
    L = PREFIX + ROWS * COLS
    p = np.arange(PREFIX, L)
    r, c = units.row[p], units.col[p]
    cheb = np.maximum(np.abs(r[:, None] - r[None]), np.abs(c[:, None] - c[None]))
    hue, bright = units.hue[p].astype(np.float64), units.brightness[p].astype(np.float64)
    dh = np.abs(hue[:, None] - hue[None])
    hue_dist = np.minimum(dh, 1 - dh)
    bright_dist = np.abs(bright[:, None] - bright[None])

    A = np.zeros((6, L, L))
    A[:, :PREFIX] = 1.0 / L  # prefix-token queries: uniform (they are not eligible anyway)
    A[0, p, p] = 1.0  # looks at itself
    A[1][np.ix_(p, p)] = (cheb == 1) / (cheb == 1).sum(1, keepdims=True)  # the 8 (or 5, 3) grid neighbours
    A[2, p, 0] = 1.0  # everything on [CLS]
    A[3][np.ix_(p, p)] = rows_following(hue_dist, 25.0)  # similar hue, wherever it is
    A[4][np.ix_(p, p)] = rows_following(bright_dist, 12.0)  # similar brightness
    A[5, p] = 1.0 / L  # uniform: broad
    acc = LayerAccumulator(6, L, L * L, L, 8, 0.005, statistics=ImageHeadStatistics())
    acc.add(A.astype(np.float32), 0, 0, np.arange(L), special, causal=False, window=2, patches=units)
    stats = acc.head_stats(LabelRule())
    assert [s["label"] for s in stats] == ["self", "local2d", "sink", "colour", "colour", "broad"]
    for s in stats:
        assert s["label"] in IMAGE_LABELS and s["label_stat"]["value"] >= s["label_stat"]["threshold"]
    assert stats[0]["mass"] == pytest.approx({"self": 1.0, "local2d": 0.0, "sink": 0.0})
    assert stats[1]["mass"] == pytest.approx({"self": 0.0, "local2d": 1.0, "sink": 0.0})
    assert stats[2]["mass"] == pytest.approx({"self": 0.0, "local2d": 0.0, "sink": 1.0})
    # weights strictly decreasing in hue distance: a per-query rank correlation of exactly 1
    assert stats[3]["similarity"]["hue"] == pytest.approx(1.0, abs=1e-5)
    assert stats[3]["label_stat"]["feature"] == "hue" and stats[3]["label_stat"]["value"] == pytest.approx(1.0, abs=1e-5)
    assert abs(stats[3]["similarity"]["position"]) < 0.2 and abs(stats[3]["similarity"]["brightness"]) < 0.2
    assert stats[4]["similarity"]["brightness"] == pytest.approx(1.0, abs=1e-5) and stats[4]["label_stat"]["feature"] == "brightness"
    assert stats[5]["entropy_norm"] == pytest.approx(1.0)
    # the 2D-local head follows position, not colour
    assert stats[1]["similarity"]["position"] > 0.5 and abs(stats[1]["similarity"]["hue"]) < 0.2
    # masses are means over the patch queries: a mixture gives the mixture's numbers
    acc2 = LayerAccumulator(1, L, L * L, L, 8, 0.005, statistics=ImageHeadStatistics())
    acc2.add(((A[0] + A[1] + 2 * A[2]) / 4)[None].astype(np.float32), 0, 0, np.arange(L), special, False, 2, units)
    assert acc2.head_stats(LabelRule())[0]["mass"] == pytest.approx({"self": 0.25, "local2d": 0.25, "sink": 0.5})


def test_a_head_that_follows_position_is_not_colour_even_on_a_hue_sweep():
    """On a hue sweep (hue = column) a head attending by 2D proximity correlates with hue too;
    it must not be called "colour", because proximity explains its ranking better."""
    units, special = hand_made_image()
    p = np.arange(PREFIX, PREFIX + ROWS * COLS)
    units = PatchUnits(row=units.row, col=units.col, hue=np.where(units.col >= 0, units.col / (2.0 * COLS), 0.0), brightness=units.brightness)
    r, c = units.row[p], units.col[p]
    L = PREFIX + ROWS * COLS
    dist = np.hypot(r[:, None] - r[None], c[:, None] - c[None])
    A = np.zeros((1, L, L))
    A[0, :PREFIX] = 1.0 / L
    A[0][np.ix_(p, p)] = rows_following(dist, 0.4)  # spread out: below the local2d threshold
    acc = LayerAccumulator(1, L, L * L, L, 8, 0.005, statistics=ImageHeadStatistics())
    acc.add(A.astype(np.float32), 0, 0, np.arange(L), special, False, 2, units)
    (st,) = acc.head_stats(LabelRule())
    assert st["similarity"]["hue"] > 0.5  # follows hue too ...
    assert st["similarity"]["position"] > st["similarity"]["hue"]  # ... but position better
    assert st["mass"]["local2d"] < LabelRule().patch_local2d
    assert st["label"] != "colour"
    # the same numbers with position out of the way would be colour
    label, stat = decide_image_label(st["mass"], {**st["similarity"], "position": 0.0}, st["entropy_norm"], LabelRule(patch_broad=1.01))
    assert label == "colour" and stat["feature"] == "hue"


def test_image_accumulator_needs_patch_units():
    acc = LayerAccumulator(1, 5, 25, 5, 4, 0.005, statistics=ImageHeadStatistics())
    with pytest.raises(ValueError):
        acc.add(np.full((1, 5, 5), 0.2, np.float32), 0, 0, np.arange(5), np.zeros(5, bool), False, 2)
