"""The sharded activation store and sharded factor inference (capture/extract.py, factors/inference.py):
shard plans, reads across shards, skipped finished shards, and partial results that merge
exactly into the single-pass result whatever the grouping."""

from functools import reduce

import numpy as np
import pytest

from tfvis_site.capture.extract import ExtractOptions, extract, extract_shard, finish_store, make_units, plan_shards, prepare_store, shard_dir
from tfvis_site.analysis.factors import FactorConfig
from tfvis_site.analysis.factors.inference import finish_inference, infer_shard, inference_shards, merge_partials, run_inference
from tfvis_site.analysis.factors.statistics import Encoder, layer_stats, make_transform
from tfvis_site.analysis.factors.learn import TopKSAE
from tfvis_site.run.memory import MemoryBudget, parse_size
from tfvis_site.modality import TEXT
from tfvis_site.model.load import load_model
from tfvis_site.progress import Reporter

#: 40 texts of varied length; the CLS rows of layer 0 are equal in every text (ties in the top-k).
SENTENCES = [f"The {w} sat on the mat number {i}" + " and ran" * (i % 5) + "." for i, w in enumerate(["cat", "dog", "bird", "fox"] * 10)]


def test_plan_shards_covers_every_sentence_within_the_token_limit():
    lengths = np.array([5, 3, 9, 2, 2, 20, 1, 4])
    plan = plan_shards(lengths, 10)
    assert plan == [(0, 2), (2, 3), (3, 5), (5, 6), (6, 8)]  # 20 > 10: a shard of its own
    assert plan == plan_shards(lengths.tolist(), 10)
    assert plan_shards(lengths, 1000) == [(0, 8)] and plan_shards(np.array([], int), 10) == []
    for lo, hi in plan:
        assert lengths[lo:hi].sum() <= 10 or hi - lo == 1


@pytest.fixture(scope="module")
def stores(tiny_checkpoints, tmp_path_factory):
    """The same texts extracted as one shard and as many (about 48 tokens each), tiny BERT."""
    loaded = load_model(tiny_checkpoints["bert"], modality=TEXT)
    out = {}
    for name, shard_tokens in (("one", 1 << 17), ("many", 48)):
        path = tmp_path_factory.mktemp(f"store-{name}")
        out[name] = extract(loaded, SENTENCES, path, ExtractOptions(max_tokens=24, batch_size=4, capture_attention=True, shard_tokens=shard_tokens), Reporter.silent(), modality=TEXT)
    return out


def test_sharded_store_reads_like_one_shard(stores):
    one, many = stores["one"], stores["many"]
    assert len(one.shards) == 1 and len(many.shards) > 5 and many.complete
    assert many.n_tokens == one.n_tokens and many.tokens.equals(one.tokens)
    rng = np.random.default_rng(0)
    rows = rng.integers(0, one.n_tokens, 50)  # unsorted, with repeats, across shards
    for layer in range(one.info.n_layers + 1):
        whole = np.asarray(many.hidden(layer))
        assert whole.shape == (one.n_tokens, one.info.d_model) and whole.dtype == np.float32
        np.testing.assert_allclose(whole, np.asarray(one.hidden(layer)), atol=1e-5)  # other batches, same maths
        np.testing.assert_array_equal(many.hidden(layer)[rows], whole[rows])
        np.testing.assert_array_equal(many.hidden(layer)[7:93], whole[7:93])
        chunks = list(many.iter_rows("hidden", layer, 13))
        assert [lo for lo, _, _ in chunks] == list(range(0, one.n_tokens, 13))
        np.testing.assert_array_equal(np.concatenate([c for _, _, c in chunks]), whole)
    for layer in range(one.info.n_layers):
        np.testing.assert_allclose(many.queries(layer)[rows], one.queries(layer)[rows], atol=1e-5)
        np.testing.assert_allclose(many.value_norms(layer)[rows], one.value_norms(layer)[rows], atol=1e-5)
        assert many.scaling(layer) == one.scaling(layer)
        for s in (0, 17, len(SENTENCES) - 1):
            np.testing.assert_allclose(many.attention(layer, s), one.attention(layer, s), atol=1e-5)
    assert many.capture["qk_reproduce_attention"] and many.capture["path"] == one.capture["path"]


def test_float16_store_reads_float32_close_to_the_float32_store(tiny_checkpoints, stores, tmp_path):
    loaded = load_model(tiny_checkpoints["bert"], modality=TEXT)
    half = extract(loaded, SENTENCES, tmp_path, ExtractOptions(max_tokens=24, batch_size=4, dtype="float16", shard_tokens=48), Reporter.silent(), modality=TEXT)
    assert (shard_dir(tmp_path, 0) / "hidden.npy").stat().st_size < (shard_dir(stores["many"].path, 0) / "hidden.npy").stat().st_size * 0.6
    x, ref = np.asarray(half.hidden(2)), np.asarray(stores["many"].hidden(2))
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, ref, rtol=2e-3, atol=2e-3)


def test_finished_shards_are_skipped_and_not_rewritten(tiny_checkpoints, tmp_path):
    loaded = load_model(tiny_checkpoints["gpt2"], modality=TEXT)
    reference = extract(loaded, SENTENCES, tmp_path, ExtractOptions(max_tokens=24, batch_size=4, shard_tokens=40), Reporter.silent(), modality=TEXT)
    tmp_path = tmp_path / "store"
    tmp_path.mkdir()
    options = ExtractOptions(max_tokens=24, batch_size=4, shard_tokens=40)
    units = make_units(TEXT, loaded, SENTENCES, options)
    plan = prepare_store(loaded, units, tmp_path, options)
    assert plan == plan_shards(units.lengths, 40) and prepare_store(loaded, units, tmp_path, options) == plan
    assert extract_shard(loaded, units, 1, plan[1], tmp_path, options)
    with pytest.raises(RuntimeError, match="not done"):
        finish_store(tmp_path)
    written = (shard_dir(tmp_path, 1) / "hidden.npy").stat()
    assert not extract_shard(loaded, units, 1, plan[1], tmp_path, options)  # done: skipped
    for index, sentence_range in enumerate(plan):  # the others, in reverse order: order is free
        extract_shard(loaded, units, len(plan) - 1 - index, plan[len(plan) - 1 - index], tmp_path, options)
    again = (shard_dir(tmp_path, 1) / "hidden.npy").stat()
    assert (again.st_ino, again.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    store = finish_store(tmp_path)
    assert store.complete and not list((tmp_path / "shards").glob(".*"))  # no temporary folder left
    np.testing.assert_array_equal(np.asarray(store.hidden(1)), np.asarray(reference.hidden(1)))


@pytest.fixture(scope="module")
def inference_inputs(stores):
    store = stores["many"]
    cfg = FactorConfig.for_preset("quick", n_components=24, sae_k=3, sae_n_steps=30, n_train=500, top_k=5, inference_batch=32, hist_bins=8)
    mean, scale = make_transform(layer_stats(store, Reporter.silent()), cfg.preprocess)
    rng = np.random.default_rng(0)
    X = ((np.asarray(store.hidden(1)) - mean[1]) / scale[1]).astype(np.float32)
    sae = TopKSAE(cfg.n_components, k=cfg.sae_k, n_steps=cfg.sae_n_steps, batch_size=64, random_state=0).fit(X[rng.permutation(len(X))])
    enc = Encoder(cfg, sae.components_, {"W_enc": sae.W_enc_, "b_enc": sae.b_enc_, "b_dec": sae.b_dec_})
    return store, cfg, enc, mean, scale


def test_merged_partials_equal_the_single_pass_result_in_any_grouping(inference_inputs):
    store, cfg, enc, mean, scale = inference_inputs
    shards = inference_shards(store.sentence_offsets, cfg, 100)
    assert len(shards) >= 4 and shards[0][0] == 0 and shards[-1][1] == store.n_tokens
    assert all(a[1] == b[0] for a, b in zip(shards, shards[1:]))
    single = finish_inference(infer_shard(store, cfg, enc, mean, scale, (0, store.n_tokens)), cfg)
    parts = [infer_shard(store, cfg, enc, mean, scale, r) for r in shards]
    groupings = {
        "left fold": reduce(merge_partials, parts),
        "right fold": reduce(lambda acc, p: merge_partials(p, acc), parts[::-1]),
        "pairs": merge_partials(reduce(merge_partials, parts[: len(parts) // 2]), reduce(merge_partials, parts[len(parts) // 2 :])),
        "shuffled": reduce(merge_partials, [parts[i] for i in np.random.default_rng(1).permutation(len(parts))]),
        # run_inference's running merge, into the first partial's arrays (copies: the folds above reuse parts)
        "in place": reduce(lambda acc, p: merge_partials(acc, p, in_place=True), [{k: np.copy(v) for k, v in p.items()} for p in parts]),
    }
    layer0 = single["topk_values"][0]
    assert (layer0[:, :-1] == layer0[:, 1:]).any() and (layer0 > 0).any()  # ties exist (CLS rows of layer 0)
    for name, merged in groupings.items():
        result = finish_inference(merged, cfg)
        assert result.keys() == single.keys()
        for key in single:
            if key != "seconds":
                np.testing.assert_array_equal(result[key], single[key], err_msg=f"{name}: {key}")
    # ties go to the lower token row
    values, rows = single["topk_values"], single["topk_token"]
    tied = (values[..., :-1] == values[..., 1:]) & (values[..., 1:] > 0)
    assert tied.any() and (rows[..., :-1][tied] < rows[..., 1:][tied]).all()
    # run_inference (what the build calls) is the same result, with or without saved partials
    for shard_tokens in (64, 1 << 20):
        streamed = run_inference(store, cfg, enc, mean, scale, Reporter.silent(), tokens_per_shard=shard_tokens)
        np.testing.assert_array_equal(streamed["topk_token"], single["topk_token"])
        np.testing.assert_array_equal(streamed["err_orig"], single["err_orig"])


def test_inference_resumes_from_the_partials_a_crashed_run_saved(inference_inputs, tmp_path):
    store, cfg, enc, mean, scale = inference_inputs
    reference = run_inference(store, cfg, enc, mean, scale, Reporter.silent(), tokens_per_shard=64)

    def crash_after_three(todo, job):  # a runner that dies (like kill -9) after three shards
        for index, token_range in todo[:3]:
            yield index, infer_shard(store, cfg, enc, mean, scale, token_range)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_inference(store, cfg, enc, mean, scale, Reporter.silent(), tmp_path, 64, run_shards=crash_after_three)
    saved = {p.name: p.stat() for p in tmp_path.glob("*.npz")}
    assert sorted(saved) == ["00000.npz", "00001.npz", "00002.npz"]
    computed = []

    def counting(todo, job):
        for index, token_range in todo:
            computed.append(index)
            yield index, infer_shard(store, cfg, enc, mean, scale, token_range)

    reporter = Reporter.silent()
    resumed = run_inference(store, cfg, enc, mean, scale, reporter, tmp_path, 64, run_shards=counting)
    assert computed and 0 not in computed and 1 not in computed and 2 not in computed
    assert any("3 of " in m and "inference shards kept" in m for m in reporter.messages)
    for name, before in saved.items():
        after = (tmp_path / name).stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    for key in reference:
        if key != "seconds":
            np.testing.assert_array_equal(resumed[key], reference[key], err_msg=key)


def test_inference_shard_must_hold_whole_batches(inference_inputs):
    store, cfg, enc, mean, scale = inference_inputs
    with pytest.raises(ValueError, match="whole inference batches"):
        infer_shard(store, cfg, enc, mean, scale, (0, 7))


def test_memory_budget_sizes():
    assert parse_size("4G") == 4 << 30 and parse_size("512m") == 512 << 20 and parse_size("1.5GiB") == 3 << 29
    for bad in ("lots", "4X", "1K"):
        with pytest.raises(Exception, match="memory-budget"):
            parse_size(bad)
    small, big = MemoryBudget(parse_size("64M")), MemoryBudget(parse_size("8G"))
    assert small.inference_shard_tokens(7, 384) < big.inference_shard_tokens(7, 384)
    assert MemoryBudget.from_option("").budget > 0


def test_layer_view_indexes_like_the_array_it_reads(stores):
    """A store's layer view takes every index form the stages use, with the same meaning as
    NumPy's on the whole layer: the first index picks rows, the rest picks within a row."""
    store = stores["many"]  # rows across shard boundaries
    view = store.queries(1)
    whole = np.asarray(view)
    rows = np.array([50, 0, 50, 2, len(view) - 1])
    mask = np.zeros(len(view), bool)
    mask[[1, 3]] = True
    for index in [(slice(None), 1), (slice(2, 70), 0, 3), (rows, 1), (mask, slice(None), 2), (4, 1), 3, slice(1, 4), rows]:
        np.testing.assert_array_equal(view[index], whole[index], err_msg=str(index))


def test_token_factors_and_activation_samples_equal_a_brute_force_coding(inference_inputs):
    """The inference pass's by-products (factors/samples.py) against every code computed here:
    each token's 3 strongest factors, and per (layer, factor, histogram bin) the activations with
    the 3 lowest priorities (a uniform sample); band_samples draws each band from exactly the
    lowest-priority activations of its bins."""
    import math

    import torch

    from tfvis_site.analysis.factors.samples import NO_SAMPLE, band_samples, priorities

    store, cfg, enc, mean, scale = inference_inputs
    result = finish_inference(infer_shard(store, cfg, enc, mean, scale, (0, store.n_tokens)), cfg)
    m, bins, L1 = enc.D.shape[0], cfg.hist_bins, store.info.n_layers + 1
    log_lo, span = math.log(cfg.hist_min), math.log(cfg.hist_max) - math.log(cfg.hist_min)
    checked_bands = 0
    for layer in range(L1):
        z = (torch.from_numpy(np.asarray(store.hidden(layer), np.float32)) - torch.as_tensor(mean[layer])) / torch.as_tensor(scale[layer])
        r, c, v = (t.numpy() for t in enc.sparse_codes(z))
        codes = np.zeros((store.n_tokens, m), np.float32)
        codes[r, c] = v
        order = np.argsort(-codes, axis=1, kind="stable")[:, :3]
        top = np.take_along_axis(codes, order, 1)
        np.testing.assert_array_equal(result["token_top_ids"][layer], np.where(top > 0, order, -1))
        np.testing.assert_array_equal(result["token_top_values"][layer], top)
        b = np.clip(np.floor((np.log(v) - log_lo) / span * bins), 0, bins - 1).astype(np.int64)
        p = priorities(r.astype(np.int64), c, layer, m, L1)
        for factor in np.unique(c)[:6]:
            for bin_ in range(bins):
                here = np.flatnonzero((c == factor) & (b == bin_))
                lowest = here[np.lexsort((r[here], p[here]))][:3]
                slot = factor * bins + bin_
                kept = result["sample_row"][layer, slot]
                np.testing.assert_array_equal(kept[kept >= 0], r[lowest])
                assert (result["sample_priority"][layer, slot][len(lowest):] == NO_SAMPLE).all()
            hist = result["hist"]  # (m, L1, bins) after finish_inference
            for row in band_samples(hist, result["hist_edges"], result, factor, layer):
                assert row["band_lo"] <= row["value"] * (1 + 1e-6) or row["band_lo"] == result["hist_edges"][0]
                assert row["value"] <= row["band_hi"] * (1 + 1e-6) or row["band_hi"] == result["hist_edges"][-1]
                checked_bands += 1
            counts = np.bincount(b[c == factor], minlength=bins)
            assert (hist[factor, layer] == counts).all()
            # each band's draw: the lowest priorities among all activations of the band's bins
            drawn = band_samples(hist, result["hist_edges"], result, factor, layer)
            middle = np.cumsum(counts) - counts / 2
            band_of_bin = np.minimum((middle / max(counts.sum(), 1) * 5).astype(np.int64), 4)
            for band in {row["band"] for row in drawn}:
                here = np.flatnonzero((c == factor) & (band_of_bin[b] == band))
                lowest = set(r[here[np.lexsort((r[here], p[here]))][:3]].tolist())
                assert {row["row"] for row in drawn if row["band"] == band} == lowest
    assert checked_bands > 0


def test_band_sample_rows_equal_a_loop_over_bands():
    """The vectorised band draw of many (factor, layer) pairs against a plain loop over each
    pair's bands, on random histograms whose bands hold many more samples than they draw (with
    empty bins, empty slots, ties in value and a factor without activations)."""
    from tfvis_site.analysis.factors.samples import NO_SAMPLE, band_sample_rows

    rng = np.random.default_rng(3)
    m, L1, bins, k, n_bands, per_band = 5, 3, 12, 3, 4, 2
    hist = rng.integers(0, 6, size=(m, L1, bins)) * (rng.random((m, L1, bins)) < 0.7)
    hist[2, 1] = 0
    edges = np.geomspace(0.01, 10.0, bins + 1)
    priority = rng.integers(0, 1000, size=(L1, m * bins, k))
    priority[rng.random(priority.shape) < 0.2] = NO_SAMPLE
    samples = {"sample_priority": priority, "sample_row": rng.permutation(L1 * m * bins * k).reshape(L1, m * bins, k),
               "sample_value": rng.integers(1, 4, size=(L1, m * bins, k)).astype(np.float32)}
    factors, layers = np.repeat(np.arange(m), L1), np.tile(np.arange(L1), m)

    expected = []
    for pair, (f, layer) in enumerate(zip(factors, layers)):
        counts = hist[f, layer].astype(float)
        if counts.sum() == 0:
            continue
        middle = np.cumsum(counts) - counts / 2
        band_of = [min(int(x / counts.sum() * n_bands), n_bands - 1) for x in middle]
        for band in range(n_bands):
            band_bins = [b for b in range(bins) if band_of[b] == band and counts[b] > 0]
            found = [(samples["sample_priority"][layer, f * bins + b, j], samples["sample_row"][layer, f * bins + b, j],
                      samples["sample_value"][layer, f * bins + b, j]) for b in band_bins for j in range(k)]
            drawn = sorted(c for c in found if c[0] != NO_SAMPLE)[:per_band]
            for rank, (_, row, value) in enumerate(sorted(drawn, key=lambda c: (-c[2], c[1]))):
                expected.append((pair, band, edges[band_bins[0]], edges[band_bins[-1] + 1], rank, row, value))
    got = band_sample_rows(hist, edges, samples, factors, layers, n_bands, per_band)
    names = ("pair", "band", "band_lo", "band_hi", "rank", "row", "value")
    assert list(zip(*(got[n].tolist() for n in names))) == [tuple(float(x) if i in (2, 3, 6) else int(x) for i, x in enumerate(e)) for e in expected]
    assert len(expected) > 2 * m * L1  # many bands drew, and most drew per_band of more
