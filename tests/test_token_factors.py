"""The per-token strongest factors the attention and token pages link from (issue 12)."""

import numpy as np
import pyarrow.parquet as pq

from sites import model_folder, read_manifest

from tfvis_site.analysis.attention.bundle import sample_rows
from tfvis_site.capture.extract import ActivationStore
from tfvis_site.analysis.factors import FactorResult


def _only(folder):
    (path,) = [p for p in folder.iterdir() if (p / ".complete").exists()]
    return path


def test_stored_top_factors_are_the_encoder_codes_of_the_sample(tiny_site):
    cache = tiny_site.parent / "cache"
    store = ActivationStore(_only(cache / "extract-attention"))
    factors = FactorResult.load(_only(cache / "factors"))
    entry = read_manifest(tiny_site)["attention"]["token_factors"]
    data = model_folder(tiny_site) / "data"
    tokens = pq.read_table(data / "attention/tokens.parquet")
    packed = np.frombuffer((data / entry["file"]).read_bytes(), "<u2").reshape(-1, tokens.num_rows, entry["top"], 2)
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
