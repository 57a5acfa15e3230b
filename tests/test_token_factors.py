"""The per-token strongest factors the attention and token pages link from (issue 12)."""

import numpy as np

from sites import model_folder, read_manifest

from tfvis_site.analysis.attention.bundle import sample_rows
from tfvis_site.capture.extract import ActivationStore
from tfvis_site.analysis.factors import FactorResult
from tfvis_site.site.bundles import read_data_array, read_data_table


def site_stores(site):
    """(the attention store, the factors) the site was built from. The cache may hold other
    entries (another test builds the same corpus with a smaller attention sample into it): the
    build record names the factors, the manifest's sample size picks the store."""
    from tfvis_site.cache import StageCache
    from tfvis_site.probe import read_site_record

    cache = site.parent / "cache"
    attention = read_manifest(site)["attention"]
    stores = [ActivationStore(p) for p in (cache / "extract-attention").iterdir() if (p / ".complete").exists()]
    (store,) = [s for s in stores if (s.n_sentences, s.n_tokens) == (attention["n_sentences"], attention["n_tokens"])]
    return store, FactorResult.load(read_site_record(StageCache(cache), site)["factors"])


def test_stored_top_factors_are_the_encoder_codes_of_the_sample(tiny_site):
    store, factors = site_stores(tiny_site)
    entry = read_manifest(tiny_site)["attention"]["token_factors"]
    data = model_folder(tiny_site) / "data"
    tokens = read_data_table(data, "attention/tokens.parquet")
    packed = read_data_array(data, entry["file"], "<u2").reshape(-1, tokens.num_rows, entry["top"], 2)
    assert packed.shape[0] == store.info.n_layers + 1
    rows = sample_rows(store, tokens)
    active_seen = 0
    for layer in range(packed.shape[0]):
        codes = factors.encode(np.asarray(store.hidden(layer))[rows], layer)  # (N, m)
        ids, values = packed[layer, :, :, 0].astype(np.int64), packed[layer, :, :, 1] * entry["scale"]
        for i in range(tokens.num_rows):
            expected = np.argsort(-codes[i], kind="stable")[: entry["top"]]
            expected = expected[codes[i, expected] > 0]
            stored = ids[i][ids[i] != entry["missing"]]
            np.testing.assert_array_equal(stored, expected)
            np.testing.assert_allclose(values[i, : len(stored)], codes[i, expected], rtol=0, atol=entry["scale"])
            active_seen += len(stored)
    assert active_seen > 0  # some token has an active factor, so the comparison above says something
