import numpy as np
import pytest
import torch

from tfvis_site.capture.extract import ExtractOptions, extract
from tfvis_site.analysis.factors.lime import LimeConfig, hidden_states_at, lime_weights
from tfvis_site.modality import TEXT
from tfvis_site.model.load import load_model
from tfvis_site.progress import Reporter


def test_lime_recovers_weights_of_a_linear_function_of_the_mask():
    rng = np.random.default_rng(0)
    true_w = rng.normal(size=12)
    masks = (rng.random((400, 12)) < 0.7).astype(float)
    masks[0] = 1
    values = 0.5 + masks @ true_w
    np.testing.assert_allclose(lime_weights(masks, values, kernel_width=0.25, alpha=1e-6), true_w, atol=1e-6)
    # several targets at once give the same answer as one at a time
    both = lime_weights(masks, np.stack([values, -2 * values], 1), 0.25, 1e-6)
    np.testing.assert_allclose(both[1], -2 * true_w, atol=1e-5)


def test_lime_ridge_shrinks_and_locality_weights_near_samples():
    rng = np.random.default_rng(1)
    masks = (rng.random((300, 6)) < 0.7).astype(float)
    values = masks[:, 0] * 3.0
    small, large = lime_weights(masks, values, 0.25, 1e-3), lime_weights(masks, values, 0.25, 300.0)
    assert abs(large[0]) < abs(small[0]) and small[0] == pytest.approx(3.0, abs=1e-3)


@pytest.mark.parametrize("kind", ["bert", "gpt2", "llama"])
def test_early_stopped_hidden_states_equal_full_forward(tiny_checkpoints, tmp_path, kind):
    loaded = load_model(tiny_checkpoints[kind], modality=TEXT)
    store = extract(loaded, ["The cat sat on the mat.", "A dog ran."], tmp_path, ExtractOptions(max_tokens=16), Reporter.silent(), modality=TEXT)
    ids = torch.from_numpy(store.tokens.column("token_id").to_numpy()[: store.sentence_offsets[1]].astype(np.int64))[None]
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    states = hidden_states_at(loaded, inputs, [0, 1, loaded.info.n_layers])
    n = ids.shape[1]
    for layer, h in states.items():
        np.testing.assert_allclose(h[0].numpy(), store.hidden(layer)[:n], atol=1e-5)
    only_first = hidden_states_at(loaded, inputs, [1])
    np.testing.assert_allclose(only_first[1][0].numpy(), store.hidden(1)[:n], atol=1e-5)


def test_lime_config_validation():
    with pytest.raises(ValueError, match="coverage"):
        LimeConfig(coverage="some")
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16, not 'fp16'"):
        LimeConfig(precision="fp16")
    assert LimeConfig.for_preset("full").coverage == "all"


def test_auto_precision_is_resolved_from_the_cpu(monkeypatch):
    """"auto" becomes what runs, so the cache key and the manifest say it; set values stay."""
    import tfvis_site.capture.extract as extract_module

    for has, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(extract_module, "cpu_has_bf16", lambda has=has: has)
        assert LimeConfig().precision == expected and LimeConfig(precision="auto").to_dict()["precision"] == expected
        assert LimeConfig(precision="fp32").precision == "fp32" and LimeConfig(precision="bf16").precision == "bf16"


@pytest.mark.parametrize("kind", ["bert", "llama"])
def test_bf16_passes_run_in_bf16_and_stay_close_to_fp32(tiny_checkpoints, kind):
    """precision "bf16" changes the forward passes (bf16 matmuls: not bit-equal to fp32), by
    bf16's rounding, not more: states within 2 % of their norm, as float32 for the coder."""
    loaded = load_model(tiny_checkpoints[kind], modality=TEXT)
    ids = torch.randint(5, 90, (3, 12), generator=torch.Generator().manual_seed(0))
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    layers = [1, loaded.info.n_layers]
    fp32, bf16 = hidden_states_at(loaded, inputs, layers, "fp32"), hidden_states_at(loaded, inputs, layers, "bf16")
    for layer in layers:
        assert bf16[layer].dtype == torch.float32
        diff = (bf16[layer] - fp32[layer]).norm(dim=-1) / fp32[layer].norm(dim=-1)
        assert 0 < float(diff.max()) < 0.02, (layer, float(diff.max()))


def test_causal_lime_cuts_copies_and_weighs_only_earlier_tokens(tiny_checkpoints, tmp_path):
    """Decoder (tiny Llama): a context's weights cover exactly the free tokens up to its own
    position (later tokens cannot reach it), and its unperturbed activation, computed on the
    cut copies, equals the activation coded from the full sentence in the store."""
    import pyarrow.parquet as pq

    from tfvis_site.analysis.factors import FactorConfig, learn_factors
    from tfvis_site.analysis.factors.lime import compute_lime

    loaded = load_model(tiny_checkpoints["llama"], modality=TEXT)
    assert loaded.info.is_causal
    sentences = [f"The {w} sat on the mat near house number {i} today." for i, w in enumerate(["cat", "dog", "bird", "fox"] * 6)]
    (tmp_path / "store").mkdir()
    store = extract(loaded, sentences, tmp_path / "store", ExtractOptions(max_tokens=24, batch_size=8), Reporter.silent(), modality=TEXT)
    cfg = FactorConfig.for_preset("quick", n_components=16, sae_k=3, sae_n_steps=40, n_train=600, top_k=4, chunk_size=8)
    factors = learn_factors(store, cfg, tmp_path / "f", Reporter.silent())
    # fp32: the unperturbed activation is compared with the (fp32) store's to 1e-3
    lime_cfg = LimeConfig(coverage="all", contexts=2, candidates=4, max_sentences=6, samples=16, precision="fp32")
    (tmp_path / "lime").mkdir()
    compute_lime(loaded, store, factors, lime_cfg, tmp_path / "lime", Reporter.silent(), modality=TEXT)
    table = pq.read_table(tmp_path / "lime" / "lime.parquet").to_pydict()
    groups: dict[tuple[int, int, int, int], list[tuple[int, float]]] = {}
    for c, layer, s, p, token, act in zip(*(table[k] for k in ("factor", "layer", "sentence_id", "position", "token", "activation"))):
        groups.setdefault((c, layer, s, p), []).append((token, act))
    assert groups
    special = store.tokens.column("is_special").to_numpy(zero_copy_only=False)
    offsets = store.sentence_offsets
    for (c, layer, s, p), rows in groups.items():
        free = np.flatnonzero(~special[offsets[s] : offsets[s + 1]])
        assert sorted(t for t, _ in rows) == free[free <= p].tolist()
        coded = factors.encode(np.asarray(store.hidden(layer)[offsets[s] + p])[None], layer)[0, c]
        assert rows[0][1] == pytest.approx(coded, rel=1e-3, abs=1e-4)
