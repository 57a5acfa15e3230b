"""Activation quantiles on the factor page and every token's factors in the token browser (issue 22),
in a real browser from file:// and http, against the data files read in Python: the quantile
section shows, band by band (strongest first), the contexts of factors/quantiles-NNN.parquet for
the factor and layer shown, headed by the band's share of the histogram; the token browser shows
the factors of factors/token_factors.u16 for a text outside the attention sample, loads the file
once and only when a token is selected; sites built before these files say so or fall back."""

import json
import re
import shutil
from collections import defaultdict

import numpy as np
import pytest
from playwright.sync_api import expect
from sites import model_folder, read_manifest
from test_site_browser import open_site

from browser import skip_without_chromium
from tfvis_site.site.bundles import js_twin, read_data_array, read_data_table
from tfvis_site.site.layout import MANIFEST

pytestmark = [pytest.mark.browser, skip_without_chromium]


def js_fmt(x: float) -> str:
    """factors/common.js fmt(x)."""
    a = abs(x)
    if a != 0 and (a < 0.001 or a >= 1e5):
        mantissa, exp = f"{x:.1e}".split("e")
        return f"{mantissa}e{int(exp):+d}"
    return f"{x:.{0 if a >= 100 else 1 if a >= 10 else 3}f}"


def js_pct(x: float) -> str:
    """factors/common.js pct(x)."""
    if x == 0:
        return "0%"
    if x < 0.001:
        return "<0.1%"
    return _to_fixed(100 * x, 1 if x < 0.1 else 0) + "%"


def _to_fixed(x: float, digits: int) -> str:
    """JavaScript's Number.prototype.toFixed: the exact value rounded half up (Python's format
    rounds half to even: 12.5 gives "12" where JS gives "13", as for a band of 1/8 of the
    activations)."""
    from decimal import ROUND_HALF_UP, Decimal

    return str(Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def _quantiles(site) -> dict[tuple[int, int], list[dict]]:
    """(factor, layer) -> rows of factors/quantiles-*.parquet in file order."""
    fs = read_manifest(site)["factors"]
    data = model_folder(site) / "data"
    out = defaultdict(list)
    for chunk in range(fs["n_chunks"]):
        for r in read_data_table(data, fs["quantiles"]["file"].format(chunk=chunk)).to_pylist():
            out[r["factor"], r["layer"]].append(r)
    return out


def _band_shares(site, f: int, layer: int) -> dict[int, float]:
    """Each band's share of the factor's activations at the layer, cut from its histogram as the
    build cuts it (analysis/factors/samples.band_samples: a bin goes to the band its middle count
    falls in), independently of the page's way (bins between band_lo and band_hi)."""
    fs = read_manifest(site)["factors"]
    bins = len(fs["hist_edges"]) - 1
    hist = read_data_array(model_folder(site) / "data", fs["files"]["hist"].format(chunk=f // fs["chunk_size"]), "<f4")
    counts = hist.reshape(-1, fs["n_layers"], bins)[f % fs["chunk_size"], layer].astype(np.float64)
    total = counts.sum()
    band_of_bin = np.minimum(((np.cumsum(counts) - counts / 2) / total * fs["quantiles"]["bands"]).astype(int), fs["quantiles"]["bands"] - 1)
    return {b: counts[band_of_bin == b].sum() / total for b in range(fs["quantiles"]["bands"])}


def _range_text(site, lo: float, hi: float) -> str:
    edges = read_manifest(site)["factors"]["hist_edges"]
    if lo <= edges[0] * (1 + 1e-6):
        return "below " + js_fmt(hi)
    if hi >= edges[-1] * (1 - 1e-6):
        return "above " + js_fmt(lo)
    return f"between {js_fmt(lo)} and {js_fmt(hi)}"


def _token_texts(site) -> tuple[list[int], list[str]]:
    data = model_folder(site) / "data"
    return read_data_table(data, "sentences.parquet").column("token_offset").to_pylist(), read_data_table(data, "tokens.parquet").column("text").to_pylist()


def _check_quantile_section(page, site, f: int, layer: int, rows: list[dict]) -> None:
    """The section of (f, layer) shows exactly ``rows``, band by band, strongest band first."""
    offsets, texts = _token_texts(site)
    shares = _band_shares(site, f, layer)
    page.wait_for_selector(f"#quantiles[data-ready='{f},{layer}']")
    by_band = defaultdict(list)
    for r in rows:
        by_band[r["band"]].append(r)
    bands = page.locator("#quantiles .q-band")
    assert [int(b) for b in bands.evaluate_all("bs => bs.map(b => b.dataset.band)")] == sorted(by_band, reverse=True)
    for k, band in enumerate(sorted(by_band, reverse=True)):
        block = bands.nth(k)
        want = by_band[band]
        head = block.locator(".q-band-h").inner_text()
        assert f"Band {band + 1} of 5" in head
        assert f"{js_pct(shares[band])} of activations {_range_text(site, want[0]['band_lo'], want[0]['band_hi'])}" in head
        items = block.locator("li.ctx")
        assert items.count() == len(want)
        for i, r in enumerate(want):
            item = items.nth(i)
            sid, pos = r["sentence_id"], r["position"]
            assert item.locator(".ctx-num").inner_text() == js_fmt(r["value"])
            assert item.locator(".ctok.hit").inner_text() == texts[offsets[sid] + pos]
            link = item.locator("a.ctx-link").first
            assert (link.inner_text(), link.get_attribute("href")) == (f"#{sid}", f"tokens.html?s={sid}&t={pos}")
    # the bands hold every activation: the shares in the headings add up to the whole
    assert sum(shares[b] for b in by_band) == pytest.approx(1.0)


def _pick_factor(site) -> tuple[int, int, int]:
    """(factor, layer with the most bands, another layer with contexts)."""
    q = _quantiles(site)
    f, layer = max(q, key=lambda k: (len({r["band"] for r in q[k]}), len(q[k]), -k[0]))
    other = next(lay for (g, lay) in sorted(q) if g == f and lay != layer)
    return f, layer, other


@pytest.mark.parametrize("how", ["file", "http"])
def test_factor_page_shows_the_quantile_contexts_of_its_layer(tiny_site, how):
    q = _quantiles(tiny_site)
    f, layer, other = _pick_factor(tiny_site)
    assert len({r["band"] for r in q[f, layer]}) >= 3
    with open_site(tiny_site, how) as (page, base):
        page.goto(base + f"factor.html?f={f}&l={layer}&w=all")
        page.wait_for_selector(f"body[data-ready='{f},{layer}']")
        expect(page.locator("#quantiles-h")).to_have_text("Activation quantiles")
        _check_quantile_section(page, tiny_site, f, layer, q[f, layer])
        # another layer: the section follows the page's layer
        page.locator(f"#layer-buttons button[data-layer='{other}']").click()
        _check_quantile_section(page, tiny_site, f, other, q[f, other])
        # a layer where the factor is never active says so
        silent = next((lay for lay in range(read_manifest(tiny_site)["factors"]["n_layers"]) if (f, lay) not in q), None)
        if silent is not None:
            page.goto(base + f"factor.html?f={f}&l={silent}")
            page.wait_for_selector(f"#quantiles[data-ready='{f},{silent}']")
            expect(page.locator("#quantiles")).to_contain_text(f"never active at layer {silent}")


def test_image_factor_page_shows_quantile_crops(tiny_image_site):
    site = tiny_image_site
    q = _quantiles(site)
    f, layer, _ = _pick_factor(site)
    rows = sorted(q[f, layer], key=lambda r: -r["band"])
    with open_site(site, "file") as (page, base):
        page.goto(base + f"factor.html?f={f}&l={layer}")
        page.wait_for_selector(f"#quantiles[data-ready='{f},{layer}']")
        tiles = page.locator("#quantiles li.ctx-img")
        assert tiles.count() == len(rows)
        shown = tiles.evaluate_all("ls => ls.map(l => [+l.dataset.image, +l.dataset.pos, l.querySelector('.ctx-num').textContent, "
                                   "l.querySelector('a').getAttribute('href'), !!l.querySelector('canvas[data-drawn]')])")
        assert shown == [[r["sentence_id"], r["position"], js_fmt(r["value"]), f"images.html?i={r['sentence_id']}&p={r['position']}", True] for r in rows]


@pytest.fixture(scope="module")
def small_sample_site(tiny_site, tiny_checkpoints, tmp_path_factory):
    """The tiny site's model and corpus with an attention sample of 3 of its 8 texts (the tiny
    site's cache: only the attention stages and the pages are new)."""
    from tfvis_site.cli import main

    root = tmp_path_factory.mktemp("small-sample-site")
    config = root / "tfvis.toml"
    config.write_text("[attention]\nn_sentences = 3\n")
    out = root / "site"
    code = main(["build", "--quiet", "--preset", "quick", "--model", str(tiny_checkpoints["bert"]), "--corpus", str(tiny_site.parent / "corpus.txt"),
                 "--config", str(config), "--out", str(out), "--cache-dir", str(tiny_site.parent / "cache")])
    assert code == 0
    return out


def _site_token_factors(site):
    """(layer, sentence, position) -> [(factor, activation)], decoded from factors/token_factors.u16."""
    m = read_manifest(site)
    tf = m["factors"]["token_factors"]
    data = model_folder(site) / "data"
    packed = read_data_array(data, tf["file"], "<u2").reshape(m["files"][tf["file"]]["shape"])
    offsets = read_data_table(data, "sentences.parquet").column("token_offset").to_pylist()
    return lambda layer, sid, pos: [(int(f), float(v) * tf["scale"]) for f, v in packed[layer, offsets[sid] + pos] if f != tf["missing"]]


def _check_token_factors(page, decoded, n_hidden: int, sid: int, pos: int) -> None:
    page.wait_for_selector("#token-factors dl")
    rows = page.locator("#token-factors dl > div")
    assert rows.count() == n_hidden
    for layer in range(n_hidden):
        row = rows.nth(layer)
        assert row.locator("dt").inner_text().startswith(f"Layer {layer}")
        links = row.locator("a").evaluate_all("as => as.map(a => [a.getAttribute('href'), a.textContent, a.nextSibling.textContent])")
        want = decoded(layer, sid, pos)
        assert want, "the tiny SAE activates something on every token"
        assert links == [[f"factor.html?f={f}&l={layer}", f"factor {f}", f" {v:.2f}"] for f, v in want]


@pytest.mark.parametrize("how", ["file", "http"])
def test_token_browser_shows_every_texts_factors(small_sample_site, how):
    site = small_sample_site
    m = read_manifest(site)
    data = model_folder(site) / "data"
    sample = set(read_data_table(data, "attention/sentences.parquet").column("sentence_id").to_pylist())
    n_tokens = read_data_table(data, "sentences.parquet").column("n_tokens").to_pylist()
    outside = [s for s in range(len(n_tokens)) if s not in sample]
    assert len(sample) == 3 and outside
    sid, other = outside[0], outside[-1]
    pos = min(2, n_tokens[sid] - 1)
    decoded = _site_token_factors(site)
    with open_site(site, how) as (page, base):
        loads, sample_loads = [], []
        page.on("request", lambda r: loads.append(r.url) if "factors/token_factors.u16" in r.url else None)
        page.on("request", lambda r: sample_loads.append(r.url) if "attention/token_factors.u16" in r.url else None)
        page.goto(base + "tokens.html")
        page.wait_for_selector(f".tok[data-s='{sid}'][data-t='{pos}']")
        page.wait_for_timeout(300)
        assert loads == []  # not before a token is selected
        page.locator(f".tok[data-s='{sid}'][data-t='{pos}']").click()
        _check_token_factors(page, decoded, m["layers"], sid, pos)
        expect(page.locator("#token-factors")).not_to_contain_text("attention sample")
        # another text outside the sample, and a token of the sample: the file was loaded once
        page.locator(f".tok[data-s='{other}'][data-t='1']").click()
        _check_token_factors(page, decoded, m["layers"], other, 1)
        inside = sorted(sample)[0]
        page.locator(f".tok[data-s='{inside}'][data-t='0']").click()
        _check_token_factors(page, decoded, m["layers"], inside, 0)
        assert len(loads) == 1, loads
        assert sample_loads == []  # the attention sample's file is for the attention pages now
        # the last layer's strongest factor opens its factor page at that layer
        page.goto(base + f"tokens.html?s={sid}&t={pos}")
        link = page.locator("#token-factors dl > div").last.locator("a").first
        f, layer = map(int, re.search(r"f=(\d+)&l=(\d+)$", link.get_attribute("href")).groups())
        assert (f, layer) == (decoded(m["layers"] - 1, sid, pos)[0][0], m["layers"] - 1)
        link.click()
        page.wait_for_selector(f"body[data-ready='{f},{layer}']")


@pytest.fixture(scope="module")
def old_site(tiny_site, tmp_path_factory):
    """The tiny site as a build from before quantiles and every token's factors: the manifest (and
    its twin) without factors.quantiles / factors.token_factors, and without their files."""
    out = tmp_path_factory.mktemp("old-site") / "site"
    shutil.copytree(tiny_site, out)
    data = model_folder(out) / "data"
    m = json.loads((model_folder(out) / MANIFEST).read_text())
    for key in ("quantiles", "token_factors"):
        del m["factors"][key]
    for path in list((data / "factors").glob("quantiles-*")) + list((data / "factors").glob("token_factors.u16*")):
        path.unlink()
        m["files"].pop(str(path.relative_to(data)).removesuffix(".js"), None)
    payload = json.dumps(m).encode()
    (model_folder(out) / MANIFEST).write_bytes(payload)
    (model_folder(out) / (MANIFEST + ".js")).write_bytes(js_twin("manifest.json", payload))
    return out


def test_sites_built_before_quantiles(old_site):
    m = read_manifest(old_site)
    att = m["attention"]
    data = model_folder(old_site) / "data"
    tf = att["token_factors"]
    packed = read_data_array(data, tf["file"], "<u2").reshape(m["layers"], att["n_tokens"], tf["top"], 2)
    sample = read_data_table(data, "attention/sentences.parquet").to_pydict()
    row = 1
    sid, pos = sample["sentence_id"][row], 1
    decoded = lambda layer, s, p: [(int(f), float(v) * tf["scale"]) for f, v in packed[layer, sample["token_offset"][row] + p] if f != tf["missing"]]  # noqa: E731
    with open_site(old_site, "file") as (page, base):
        page.goto(base + "factor.html?f=0")
        page.wait_for_selector("#quantiles[data-ready]")
        text = page.locator("#quantiles").inner_text().strip()
        assert "built before activation quantiles" in text and "\n" not in text
        # the token browser falls back on the attention sample's token factors
        page.goto(base + f"tokens.html?s={sid}&t={pos}")
        _check_token_factors(page, decoded, m["layers"], sid, pos)
