"""Massive activations (factors.massive_ratio): a decoder's first-token states, 100x the norm of
the others in SmolLM2, are set aside by the factor stage: out of the layer statistics, the
training sample, the coding and the metrics, at every layer where they are massive.

The model is the tiny random Llama with the embedding of the first word of every text scaled
300x: the residual stream carries it through every block, and the final RMSNorm undoes it, as
in real decoders where the sink's norm falls again at the last layer."""

import numpy as np
import pytest
import torch

from tfvis_site.capture.extract import ExtractOptions, extract
from tfvis_site.analysis.factors import FactorConfig, learn_factors
from tfvis_site.analysis.factors.inference import InferenceJob, run_inference
from tfvis_site.analysis.factors.statistics import state_norms
from tfvis_site.modality import TEXT
from tfvis_site.model.load import load_model
from tfvis_site.progress import Reporter

ANIMALS = ["cat", "dog", "bird", "fox", "horse", "fish"]
TEXTS = [f"The {w} sat on the mat number {i}" + " and ran to the river" * (i % 3) + "." for i, w in enumerate(ANIMALS * 6)]
CONFIG = FactorConfig.for_preset("quick", n_components=32, sae_k=4, sae_n_steps=80, n_train=3000, top_k=5, inference_batch=64)


@pytest.fixture(scope="module")
def planted(tiny_checkpoints, tmp_path_factory):
    loaded = load_model(tiny_checkpoints["llama"], modality=TEXT)
    first = loaded.tokenizer(TEXTS[0])["input_ids"][0]
    with torch.no_grad():
        loaded.model.get_input_embeddings().weight[first] *= 300.0
    store = extract(loaded, TEXTS, tmp_path_factory.mktemp("store"), ExtractOptions(max_tokens=32, batch_size=8), Reporter.silent(), modality=TEXT)
    factors = learn_factors(store, CONFIG, tmp_path_factory.mktemp("factors"), Reporter.silent())
    return store, factors, first


def test_the_planted_first_token_states_and_only_they_are_set_aside(planted):
    store, factors, first = planted
    tokens = store.tokens
    first_rows = tokens.column("position").to_numpy() == 0
    assert (tokens.column("token_id").to_numpy()[first_rows] == first).all() and first_rows.sum() == len(TEXTS)
    n_layers = store.info.n_layers + 1
    quality = factors.metrics["quality"]
    for layer in range(n_layers):
        norms = state_norms(np.asarray(store.hidden(layer)))
        if layer < n_layers - 1:  # the residual stream: first words ~300x the rest
            assert norms[first_rows].min() > 50 * np.median(norms[~first_rows])
            assert quality["per_layer"][layer]["massive"] == len(TEXTS)
            assert np.array_equal(norms > factors.massive_norm[layer], first_rows)
        else:  # after the final RMSNorm nothing is massive, and nothing is set aside
            assert quality["per_layer"][layer]["massive"] == 0 and np.isinf(factors.massive_norm[layer])
    assert quality["overall"]["massive"] == (n_layers - 1) * len(TEXTS)
    assert 0 < quality["overall"]["fvu"] < 1


def test_set_aside_states_get_no_activations_anywhere(planted):
    store, factors, _ = planted
    first_rows = np.flatnonzero(store.tokens.column("position").to_numpy() == 0)
    n_layers = store.info.n_layers + 1
    for layer in range(n_layers - 1):
        # no factor's top contexts at this layer is a first word
        assert not np.isin(factors.topk_token[layer], first_rows).any()
        codes = factors.encode(np.asarray(store.hidden(layer)), layer)
        assert not codes[first_rows].any()
        rest = np.delete(codes, first_rows, axis=0)
        assert (np.count_nonzero(rest, axis=1) > 0).all()  # every other state is coded
        # the build's per-layer counts are those of this coding
        np.testing.assert_array_equal(factors.active[:, layer], np.count_nonzero(codes, axis=0))
    # the last layer's first words are ordinary states and are coded like the rest
    last = factors.encode(np.asarray(store.hidden(n_layers - 1)), n_layers - 1)
    assert (np.count_nonzero(last[first_rows], axis=1) > 0).all()


def test_inference_on_workers_reads_the_threshold_from_the_model_file(planted):
    """A Ray actor's InferenceJob loads massive_norm with the dictionary: the same statistics."""
    store, factors, _ = planted
    job = InferenceJob(store.path, factors.path / "model.safetensors", CONFIG)
    elsewhere = run_inference(store, CONFIG, None, None, None, Reporter.silent(), tokens_per_shard=64, job=job,
                              run_shards=lambda todo, job: ((i, job.run(r)) for i, r in todo))
    np.testing.assert_array_equal(elsewhere["topk_token"], factors.topk_token)
    np.testing.assert_array_equal(elsewhere["active"], factors.active)


def test_zero_keeps_every_state(planted, tmp_path):
    store, _, _ = planted
    kept = learn_factors(store, CONFIG.replace(massive_ratio=0.0), tmp_path, Reporter.silent())
    assert kept.metrics["quality"]["overall"]["massive"] == 0 and np.isinf(kept.massive_norm).all()
    first_rows = np.flatnonzero(store.tokens.column("position").to_numpy() == 0)
    assert np.isin(kept.topk_token[1], first_rows).any()  # the first words now top factors
    with pytest.raises(ValueError, match="massive_ratio"):
        FactorConfig(massive_ratio=-1)
