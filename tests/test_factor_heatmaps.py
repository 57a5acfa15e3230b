"""Activation maps of factors over whole images (factors/heatmaps.py) on the tiny image model:
shapes, the map value at a context's own patch equals its stored top-k activation (within the
uint8 quantisation), determinism, and the site files written through the BundleWriter."""

from pathlib import Path

import numpy as np
import pytest

from sites import model_folder, read_manifest

from tfvis_site.capture.extract import ActivationStore
from tfvis_site.analysis.factors import FactorResult
from tfvis_site.analysis.factors.heatmaps import N_CONTEXTS, compute_heatmaps, map_images
from tfvis_site.site.bundles import read_data_table, read_data_array


def _cache_entry(site: Path, stage: str, marker: str) -> Path:
    found = sorted(p.parent for p in (site.parent / "cache" / stage).glob(f"*/{marker}"))
    assert found, f"no {stage} entry in the cache of {site}"
    return found[0]


@pytest.fixture(scope="module")
def built(tiny_image_site):
    store = ActivationStore(_cache_entry(tiny_image_site, "extract", "meta.json"))
    res = FactorResult.load(_cache_entry(tiny_image_site, "factors", "stats.npz"))
    return tiny_image_site, store, res


def test_shapes_and_context_values(built):
    _, store, res = built
    hm = compute_heatmaps(res, store, n_contexts=5, batch_images=3)  # several batches
    m = res.n_components
    geo = store.image
    n_units = geo["n_prefix_tokens"] + geo["grid"][0] * geo["grid"][1]
    assert hm["maps"].shape == (m, 5, n_units) and hm["maps"].dtype == np.uint8
    assert hm["images"].shape == (m, 5) and hm["max"].shape == (m, 5)
    offsets = store.sentence_offsets
    sent_of = np.repeat(np.arange(store.n_sentences), np.diff(offsets))
    peak = res.peak_layer
    checked = 0
    for c in range(m):
        toks = res.topk_token[peak[c], c]
        vals = res.topk_values[peak[c], c]
        ok = toks >= 0
        imgs = sent_of[toks[ok]]
        # distinct images in rank order, padded with -1
        expect = list(dict.fromkeys(imgs.tolist()))[:5]
        assert hm["images"][c].tolist() == expect + [-1] * (5 - len(expect))
        assert np.all(hm["max"][c, len(expect):] == 0)
        for j, img in enumerate(expect):
            mx = hm["max"][c, j]
            # every top context in this image: its own unit carries its activation
            for t, v in zip(toks[ok][imgs == img], vals[ok][imgs == img]):
                pos = t - offsets[img]
                got = hm["maps"][c, j, pos] / 255.0 * mx
                assert abs(got - v) <= mx / 255.0 + 1e-4 * max(1.0, abs(v)), (c, j, pos, got, v)
                checked += 1
            assert hm["maps"][c, j].max() == (255 if mx > 0 else 0)
    assert checked > m  # most factors have several contexts checked


def test_deterministic(built):
    _, store, res = built
    a = compute_heatmaps(res, store, n_contexts=4, batch_images=16)
    b = compute_heatmaps(res, store, n_contexts=4, batch_images=16)
    for k in a:
        assert np.array_equal(a[k], b[k])
    assert np.array_equal(map_images(res, store, 4), a["images"])


def test_site_files(built):
    site, store, res = built
    data = model_folder(site) / "data"
    manifest = read_manifest(site)
    fs = manifest["factors"]
    hm = fs["heatmaps"]
    assert hm["layer"] == "peak" and hm["contexts"] == N_CONTEXTS
    assert hm["n_units"] == store.image["n_prefix_tokens"] + store.image["grid"][0] * store.image["grid"][1]
    assert fs["search"]["file"] is None  # no word index for patches
    assert not (data / "factors/search.parquet").exists()
    by_image = read_data_table(data, fs["search"]["by_image"]["file"]).to_pylist()
    assert by_image and all(1 <= r["count"] <= fs["top_k"] for r in by_image)
    assert [r["image"] for r in by_image] == sorted(r["image"] for r in by_image)
    cs = fs["chunk_size"]
    total = 0
    for ch in range(fs["n_chunks"]):
        maps_name = hm["files"]["maps"].format(chunk=ch)
        meta_name = hm["files"]["meta"].format(chunk=ch)
        for name in (maps_name, meta_name):
            assert name in manifest["files"] and (data / f"{name}.js").exists()
        c = min(cs, fs["n_factors"] - ch * cs)
        maps = read_data_array(data, maps_name, np.uint8)
        meta = read_data_array(data, meta_name, "<f4")
        assert manifest["files"][maps_name]["shape"] == [c, N_CONTEXTS, hm["n_units"]] and maps.size == c * N_CONTEXTS * hm["n_units"]
        assert manifest["files"][meta_name]["shape"] == [c, N_CONTEXTS, 2] and meta.size == c * N_CONTEXTS * 2
        total += maps.nbytes + meta.nbytes
    assert total == hm["bytes"]
    # the top context at the peak layer of factor 0's chunk, read back from the site files
    topk = read_data_table(data, fs["files"]["topk"].format(chunk=0)).to_pylist()
    index = read_data_table(data, fs["files"]["index"]).to_pylist()
    maps = read_data_array(data, hm["files"]["maps"].format(chunk=0), np.uint8).reshape(-1, N_CONTEXTS, hm["n_units"])
    meta = read_data_array(data, hm["files"]["meta"].format(chunk=0), "<f4").reshape(-1, N_CONTEXTS, 2)
    for f in range(min(cs, fs["n_factors"])):
        rows = [r for r in topk if r["factor"] == f and r["layer"] == index[f]["peak_layer"] and r["rank"] == 0]
        if not rows:
            continue
        r = rows[0]
        assert int(meta[f, 0, 0]) == r["sentence_id"]
        assert abs(maps[f, 0, r["position"]] / 255 * meta[f, 0, 1] - r["value"]) <= meta[f, 0, 1] / 255 + 1e-4
        # thumbnails in the index: the first is the top context
        assert index[f]["thumb_image_0"] == r["sentence_id"] and index[f]["thumb_pos_0"] == r["position"]
