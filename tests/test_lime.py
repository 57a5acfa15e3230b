import numpy as np
import pytest
import torch

from tfvis_site.extract import ExtractOptions, extract
from tfvis_site.factors.lime import LimeConfig, hidden_states_at, lime_weights
from tfvis_site.models import load_model
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
    loaded = load_model(tiny_checkpoints[kind])
    store = extract(loaded, ["The cat sat on the mat.", "A dog ran."], tmp_path, ExtractOptions(max_tokens=16), Reporter.silent())
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
    assert LimeConfig.for_preset("full").coverage == "all"
