"""Heads x factors on the pages (issue 22), in Debian chromium, on a tiny encoder site (BERT) and a
tiny decoder site (GPT-2): the head page's "What this head reads / writes" show the rows of
circuits/qk.parquet and circuits/ov.parquet for that head, its agreement and OV drops from
circuits/heads.parquet, factor links open the right factor at the right hidden state, a ◐ button
colours the plot by a factor exactly where attention/token_factors.u16 says the factor is among a
token's 3 strongest; the factor page lists the heads that read and write a factor and its output
tokens (nearest input embeddings for the encoder, promoted / suppressed for the decoder); the
quality page shows the spliced-in number of every layer from the manifest; a decoder's induction
label shows on the head page, the matrix legend and the gallery; a site built with
[circuits] enabled = false says why in each section. No console errors."""

import base64
import json
import re

import numpy as np
import pytest
from playwright.sync_api import expect
from sites import model_folder, read_manifest
from test_attention_pages_browser import HEAD, artifacts, count, ready
from test_site_browser import open_site

from browser import skip_without_chromium
from tfvis_site.site.bundles import read_data_array, read_data_table

pytestmark = [pytest.mark.browser, skip_without_chromium]

LAYER, HEAD_H = 1, 2  # the head the head-page tests open


def _build(checkpoint, root, config=None, corpus=None, cache=None):
    """A tiny site from ``checkpoint`` (the conftest corpus unless ``corpus``), with an optional TOML config."""
    from conftest import HOSTILE_TEXTS

    from tfvis_site.cli import main

    if corpus is None:
        corpus = root / "corpus.txt"
        corpus.write_text("\n".join(HOSTILE_TEXTS) + "\n")
    args = ["build", "--quiet", "--preset", "quick", "--model", str(checkpoint), "--corpus", str(corpus), "--out", str(root / "site"),
            "--cache-dir", str(cache or root / "cache")]
    if config:
        (root / "site.toml").write_text(config)
        args += ["--config", str(root / "site.toml")]
    assert main(args) == 0
    return root / "site"


@pytest.fixture(scope="module")
def decoder_site(tiny_checkpoints, tmp_path_factory):
    """Tiny GPT-2 (an unembedding: promoted / suppressed tokens, loss recovered), with an induction
    threshold below every random head's score, so that every head is labelled induction."""
    return _build(tiny_checkpoints["gpt2"], tmp_path_factory.mktemp("circuits-gpt2"), "[circuits]\ninduction_threshold = 0.001\n")


@pytest.fixture(scope="module")
def plain_site(tiny_site, tiny_checkpoints):
    """The tiny BERT site again with [circuits] enabled = false (its other stages from tiny_site's cache)."""
    root = tiny_site.parent / "plain"
    root.mkdir(exist_ok=True)
    return _build(tiny_checkpoints["bert"], root, "[circuits]\nenabled = false\n", corpus=tiny_site.parent / "corpus.txt",
                  cache=tiny_site.parent / "cache")


def data(site):
    return model_folder(site) / "data"


def table(site, name):
    return read_data_table(data(site), f"circuits/{name}.parquet").to_pylist()


def number(text):
    """The number a cell shows (the pages write − as a minus in places)."""
    return float(text.replace("\u2212", "-").split()[0])


def close(shown, value):
    """A cell shows ``value`` to its 2-3 significant digits (2 with an exponent: up to 5 % off)."""
    return abs(shown - value) <= 0.05 * abs(value) + 1e-12


#: [[cell texts], [link hrefs]] of every body row of the table matching a selector.
ROWS = """sel => Array.from(document.querySelectorAll(sel + ' tbody tr')).map(tr =>
  [Array.from(tr.cells).map(c => c.textContent.trim()), Array.from(tr.querySelectorAll('a')).map(a => a.getAttribute('href'))])"""


def check_head_tables(page, site, layer, head):
    """The head page's tables against circuits/{heads,qk,ov}.parquet for (layer, head)."""
    qk = [r for r in table(site, "qk") if (r["layer"], r["head"]) == (layer, head)]
    for ranked_by in ("weights", "data"):
        want = sorted((r for r in qk if r["ranked_by"] == ranked_by), key=lambda r: r["rank"])
        rows = page.evaluate(ROWS, f".circ-qk-{ranked_by}")
        assert len(rows) == len(want) > 0
        for (cells, links), r in zip(rows, want):
            assert cells[0].split()[0] == str(r["rank"] + 1)
            assert cells[1].startswith(f"#{r['query_factor']}") and cells[2].startswith(f"#{r['key_factor']}")
            assert links == [f"factor.html?f={r['query_factor']}&l={layer}", f"factor.html?f={r['key_factor']}&l={layer}"]
            assert close(number(cells[3]), r["weight_score"]) and close(number(cells[4]), r["data_share"])
    ov = sorted((r for r in table(site, "ov") if (r["layer"], r["head"], r["kind"]) == (layer, head, "top")), key=lambda r: r["rank"])
    rows = page.evaluate(ROWS, ".circ-ov")
    assert len(rows) == len(ov) > 0
    for (cells, links), r in zip(rows, ov):
        assert links == [f"factor.html?f={r['read_factor']}&l={layer}", f"factor.html?f={r['write_factor']}&l={layer + 1}"]
        assert close(number(cells[3]), r["weight"]) and cells[5] == str(r["n_sentences"])
        drop = r["ablation_drop"]
        assert cells[4] == "not active" if drop is None or np.isnan(drop) else close(number(cells[4]), drop), (cells, drop)
    # every factor link names that factor's top tokens (factors/index.parquet), read and written alike
    top_tokens = read_data_table(data(site), "factors/index.parquet", columns=["top_tokens"]).column(0).to_pylist()
    titles = page.evaluate("Array.from(document.querySelectorAll('.circ-ov a.circ-factor')).map(a => a.title)")
    wanted = [f for r in ov for f in (r["read_factor"], r["write_factor"])]
    assert len(titles) == len(wanted) and all(t.endswith(": " + top_tokens[f]) for t, f in zip(titles, wanted) if top_tokens[f])
    h = next(r for r in table(site, "heads") if (r["layer"], r["head"]) == (layer, head))
    agree = page.locator(".circ-agree").inner_text()
    assert f"ρ = {h['qk_agreement']:.2f}" in agree and f"median {h['qk_agreement_null_median']:.2f}" in agree
    assert "compare ρ (dot) with the shuffled null" in agree and "not with 0" in agree
    drops = page.locator(".circ-drops").inner_text()
    shown = [float(x) for x in re.findall(r"pairs (-?\d[\d.]*(?:e-?\d+)?)", drops)]
    assert close(shown[0], h["ov_top_pairs_drop"]) and close(shown[1], h["ov_random_pairs_drop"])
    return qk


def visible(token):
    """A vocabulary string as the factor page shows it: byte-level BPE's Ġ (space) and Ċ (newline) and
    SentencePiece's ▁ as ␣ and ↵."""
    return token.replace("Ġ", "␣").replace("▁", "␣").replace("Ċ", "↵")


def token_top3(site, hidden):
    """(n_tokens, top) factor ids of every attention-sample token at a hidden state (65535: none);
    hidden = slice(None): all of them, (n_hidden, n_tokens, top)."""
    att = read_manifest(site)["attention"]
    tf = att["token_factors"]
    packed = read_data_array(data(site), tf["file"], "<u2").reshape(-1, att["n_tokens"], tf["top"], 2)
    return packed[hidden, :, :, 0]


def check_colours(page, site, f):
    """The plot's colour categories: grey exactly for the tokens (queries and keys) whose 3 strongest
    factors at hidden state LAYER do not include f; the legend names f and the hidden state."""
    expect(page.locator("#att-legend")).to_contain_text(f"factor {f} at hidden state {LAYER}")
    head = page.evaluate(f"(() => {{ const h = {HEAD}.head(); return {{cat: Array.from(h.cat), palette: h.palette}}; }})()")
    cat, grey = np.array(head["cat"]), len(head["palette"]) - 1
    active = (token_top3(site, LAYER) == f).any(1)
    n_tok = len(active)
    assert active.any() and not active.all()
    assert np.array_equal(cat[:n_tok] != grey, active) and np.array_equal(cat[n_tok:] != grey, active)


@pytest.mark.parametrize("how", ["file", "http"])
def test_head_page_reads_writes_links_and_colours_by_a_factor(tiny_site, how, tmp_path):
    with open_site(tiny_site, how) as (page, base):
        page.goto(base + f"attention-head.html?l={LAYER}&h={HEAD_H}")
        ready(page)
        page.wait_for_selector(f"#att-circuits[data-ready='{LAYER},{HEAD_H}']")
        qk = check_head_tables(page, tiny_site, LAYER, HEAD_H)
        assert "RoPE" not in page.locator("#att-reads").inner_text()  # BERT: absolute positions, s is the whole score
        # colour by the top pair's query factor: grey exactly where it is not among a token's 3 strongest
        f = next(r["query_factor"] for r in qk if r["ranked_by"] == "weights" and r["rank"] == 0)
        before = page.locator("#att-canvas").screenshot()
        n = count(page)
        page.locator(".circ-qk-weights tbody tr").first.locator("button.circ-paint").first.click()
        ready(page, n + 1)
        assert "color=factor" in page.url and f"cf={f}" in page.url
        expect(page.locator("#att-color")).to_have_value("factor")
        expect(page.locator("#att-cf")).to_have_value(str(f))
        expect(page.locator("#att-legend")).to_contain_text("not among the token's 3 strongest factors")
        check_colours(page, tiny_site, f)
        page.wait_for_timeout(300)
        assert page.locator("#att-canvas").screenshot() != before  # the points changed colour
        # the factor box: a factor whose tokens differ between hidden states, to catch the wrong one
        top3 = token_top3(tiny_site, slice(None))
        g = next(g for g in np.unique(top3[LAYER]) if g != 65535 and not all(
            np.array_equal((top3[LAYER] == g).any(1), (top3[x] == g).any(1)) for x in (LAYER - 1, LAYER + 1)))
        n = count(page)
        page.fill("#att-cf", str(g))
        page.press("#att-cf", "Tab")
        ready(page, n + 1)
        assert f"cf={g}" in page.url
        check_colours(page, tiny_site, int(g))
        page.screenshot(path=str(artifacts(tmp_path) / f"circuits-head-{how}.png"), full_page=True)
        # a factor link opens that factor at the hidden state the head reads
        k = next(r["key_factor"] for r in qk if r["ranked_by"] == "data" and r["rank"] == 0)
        page.locator(".circ-qk-data tbody tr").first.locator("a").nth(1).click()
        page.wait_for_url(f"**/factor.html?f={k}&l={LAYER}")
        page.wait_for_selector(f"body[data-ready='{k},{LAYER}']")
        expect(page.locator("#ftitle")).to_have_text(f"Factor {k}")
        expect(page.locator("#stats-layer")).to_have_text(str(LAYER))


def test_factor_page_heads_and_nearest_embeddings(tiny_site, tmp_path):
    qk, ov = table(tiny_site, "qk"), table(tiny_site, "ov")
    r0 = next(r for r in qk if r["layer"] == LAYER)  # a factor some head of layer 1 reads as a query
    f, l = r0["query_factor"], LAYER
    as_query = [r for r in qk if r["layer"] == l and r["query_factor"] == f]
    written = [r for r in ov if r["kind"] == "top" and r["layer"] == l - 1 and r["write_factor"] == f]
    read_ov = [r for r in ov if r["kind"] == "top" and r["layer"] == l and r["read_factor"] == f]
    outputs = [r for r in table(tiny_site, "output_tokens") if r["factor"] == f]
    with open_site(tiny_site, "file") as (page, base):
        page.goto(base + f"factor.html?f={f}&l={l}")
        page.wait_for_selector(f"#circ-heads[data-ready='{f},{l}']")
        rows = page.evaluate(ROWS, ".circ-read-query")
        assert len(rows) == min(30, len(as_query))
        want = sorted(as_query, key=lambda r: (r["ranked_by"] != "weights", r["rank"]))
        for (cells, links), r in zip(rows, want):
            assert cells[0] == f"L{l} H{r['head']}" and cells[1] == f"by {r['ranked_by']}" and cells[2] == str(r["rank"] + 1)
            assert links == [f"attention-head.html?l={l}&h={r['head']}&color=factor&cf={f}", f"factor.html?f={r['key_factor']}&l={l}"]
            assert close(number(cells[4]), r["weight_score"])
        for sel, want in ((".circ-written", written), (".circ-read-ov", read_ov)):
            rows = page.evaluate(ROWS, sel)
            assert len(rows) == len(want)
            assert [c[0] for c, _ in rows] == [f"L{r['layer']} H{r['head']}" for r in sorted(want, key=lambda r: r["rank"])]
        # the encoder has no language-model head: nearest input embeddings, named as such
        page.wait_for_selector(f"#circ-outputs[data-ready='{f}']")
        box = page.locator("#circ-outputs").inner_text()
        assert "Nearest input embeddings (cosine)" in box and "not tokens it predicts" in box
        shown = page.locator("#circ-outputs .circ-tok").all_text_contents()
        assert shown == [visible(r["token"]) for r in sorted(outputs, key=lambda r: r["rank"])] and shown
        page.screenshot(path=str(artifacts(tmp_path) / "circuits-factor.png"), full_page=True)
        # a head link opens the head page coloured by this factor
        page.locator(".circ-read-query tbody a.circ-head").first.click()
        page.wait_for_url("**/attention-head.html?*")
        ready(page)
        expect(page.locator("#att-color")).to_have_value("factor")
        expect(page.locator("#att-legend")).to_contain_text(f"factor {f} at hidden state {l}")


def check_quality(page, site, key, words):
    spliced = read_manifest(site)["factors"]["quality"]["spliced"]
    expect(page.locator(".factor-quality-table thead")).to_contain_text(words)
    cells = page.locator(".factor-quality-table td.spliced").all_text_contents()
    assert cells == [f"{s[key]:.3f}" for s in sorted(spliced, key=lambda s: s["layer"])]


def test_quality_page_spliced_numbers(tiny_site, decoder_site):
    with open_site(tiny_site, "file") as (page, base):
        page.goto(base + "quality.html")
        check_quality(page, tiny_site, "final_cosine", "final cosine")
        assert "mean cosine of the last layer's states" in page.locator(".factor-spliced").inner_text()
    with open_site(decoder_site, "http") as (page, base):
        page.goto(base + "quality.html")
        check_quality(page, decoder_site, "recovered", "loss recovered")
        assert "0 = as bad as mean-ablating" in page.locator(".factor-spliced").inner_text()


def test_decoder_induction_label_tables_and_output_tokens(decoder_site, tmp_path):
    att = read_manifest(decoder_site)["attention"]
    info = att["heads"][LAYER * att["model"]["n_heads"] + HEAD_H]
    assert info["label"] == "induction"
    with open_site(decoder_site, "file") as (page, base):
        page.goto(base + f"attention-head.html?l={LAYER}&h={HEAD_H}")
        ready(page)
        expect(page.locator("#att-title .att-lab-induction")).to_be_visible()
        metrics = page.locator("#att-metrics").inner_text()
        assert re.search(rf"Induction score\s+{info['induction_score']:.2f} \(labelled induction from 0.001\)", metrics) and "Pattern label" in metrics
        page.wait_for_selector(f"#att-circuits[data-ready='{LAYER},{HEAD_H}']")
        check_head_tables(page, decoder_site, LAYER, HEAD_H)
        page.screenshot(path=str(artifacts(tmp_path) / "circuits-decoder-head.png"), full_page=True)
        # the matrix: induction badges and the legend's label with its count
        page.goto(base + "attention.html")
        ready(page)
        assert page.locator("#att-cells .att-lab-induction").count() == len(att["heads"])
        expect(page.locator(".att-label-legend")).to_contain_text(f"induction (the token after an earlier copy of this one) · {len(att['heads'])} heads")
        # the factor page: promoted and suppressed tokens through the unembedding
        f = 0
        out = [r for r in table(decoder_site, "output_tokens") if r["factor"] == f]
        page.goto(base + f"factor.html?f={f}")
        page.wait_for_selector(f"#circ-outputs[data-ready='{f}']")
        for side in ("promoted", "suppressed"):
            want = [r for r in sorted(out, key=lambda r: r["rank"]) if r["side"] == side]
            assert page.locator(f".circ-{side} .circ-tok").all_text_contents() == [visible(r["token"]) for r in want] and want
            assert close(number(page.locator(f".circ-{side} .num").first.inner_text()), want[0]["value"])
        assert "Through the unembedding" in page.locator("#circ-outputs").inner_text()
    with open_site(decoder_site, "file", root=True) as (page, base):  # the gallery counts the label
        page.goto(base + "index.html")
        expect(page.locator(".label-counts")).to_contain_text(f"induction {len(att['heads'])}")


def test_site_without_circuits_says_why(plain_site):
    m = read_manifest(plain_site)
    assert "circuits" not in m and "circuits_unavailable" not in m and "spliced" not in m["factors"]["quality"]
    why = "built without the circuit analyses ([circuits] enabled = false"
    with open_site(plain_site, "file") as (page, base):
        page.goto(base + "attention-head.html?l=0&h=0")
        ready(page)
        page.wait_for_selector("#att-circuits[data-ready='missing']")
        expect(page.locator("#att-reads")).to_contain_text(why)
        expect(page.locator("#att-writes")).to_contain_text(why)
        page.goto(base + "factor.html?f=1")
        page.wait_for_selector("#circ-heads[data-ready='missing']")
        expect(page.locator("#circ-reads")).to_contain_text(why)
        expect(page.locator("#circ-outputs")).to_contain_text("without the output side of the factors")
        page.goto(base + "quality.html")
        expect(page.locator(".factor-spliced")).to_contain_text("Spliced-in quality: not in this build")
        assert page.locator(".factor-quality-table td.spliced").count() == 0
    # and a manifest section the circuits could not read (a model type without a weight reader)
    folder = data(plain_site)
    m["circuits_unavailable"] = "no weight reader for model type 'x'"
    (folder / "manifest.json").write_text(json.dumps(m))
    twin = (folder / "manifest.json.js").read_text()
    assert twin.startswith("(window.TFVIS_DATA")
    (folder / "manifest.json.js").write_text(twin[: twin.index('="') + 2] + base64.b64encode(json.dumps(m).encode()).decode() + '";')
    with open_site(plain_site, "file") as (page, base):
        page.goto(base + "factor.html?f=1")
        page.wait_for_selector("#circ-heads[data-ready='missing']")
        expect(page.locator("#circ-reads")).to_contain_text("could not read this model: no weight reader for model type 'x'.")
