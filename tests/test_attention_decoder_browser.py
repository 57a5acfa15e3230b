"""Attention pages of a decoder site (tiny random Llama with grouped-query attention) in Debian
chromium, from file:// and http: the sentence view draws no line to a later token, the aggregate's
upper triangle is empty, "hide first token" renormalises the rows, the labels name the first-token
sink, and "weight by value norm" reweights the sentence view and the plot's lines exactly as the
data files say (attention x ||v_j||, renormalised per query). No console errors."""

import json

import numpy as np
import pytest
from test_attention_pages_browser import artifacts, ready
from sites import model_folder
from test_site_browser import open_site

from browser import skip_without_chromium
from tfvis_site.site.bundles import read_data_table, read_data_array

pytestmark = [pytest.mark.browser, skip_without_chromium]

LAYER, HEAD, SENTENCE = 1, 3, 2


@pytest.fixture(scope="module")
def llama_site(tiny_decoder_site):
    return tiny_decoder_site


def site_data(site):
    """manifest["attention"], the sentences table and a reader of one head's (L, L) block."""
    data = model_folder(site) / "data"
    sec = json.loads((data / "manifest.json").read_text())["attention"]
    sents = read_data_table(data, sec["files"]["sentences"]).to_pydict()
    return sec, sents


def block(site, sec, sents, layer, head, s):
    assert sec["weights_encoding"] == "sqrt-u16"
    w = read_data_array(model_folder(site) / "data", sec["files"]["weights"][layer], "<u2").reshape(sec["model"]["n_heads"], -1)
    n, off = sents["n_tokens"][s], sents["pair_offset"][s]
    return (w[head, off : off + n * n].reshape(n, n).astype(np.float64) / 65535) ** 2


def value_weighted(site, sec, sents, layer, head, s):
    """The block weighted by value norm, renormalised per query, from the data files."""
    W = block(site, sec, sents, layer, head, s)
    m = sec["model"]
    vn = read_data_array(model_folder(site) / "data", sec["files"]["value_norms"], "<f4").reshape(m["n_layers"], sec["n_tokens"], m["n_kv_heads"])
    kv = sec["heads"][layer * m["n_heads"] + head]["kv_head"]
    start, n = sents["token_offset"][s], sents["n_tokens"][s]
    V = W * vn[layer, start : start + n, kv][None, :]
    return V / V.sum(1, keepdims=True)


def assert_lines_match(lines, expected):
    """The sentence view's lines [q, k, opacity, y1, y2] are exactly the expected weights of at
    least the view's threshold (0.004): none missing, none extra, opacities within rounding."""
    drawn = {(q, k) for q, k, *_ in lines}
    assert {tuple(x) for x in np.argwhere(expected >= 0.0045)} <= drawn <= {tuple(x) for x in np.argwhere(expected >= 0.0035)}
    for q, k, opacity, *_ in lines:
        assert opacity == pytest.approx(expected[q, k], abs=1.5e-3)


SVG_LINES = "Array.from(document.querySelectorAll('#att-sentence line')).map(l => [l._q, l._k, +l.getAttribute('stroke-opacity'), +l.getAttribute('y1'), +l.getAttribute('y2')])"


@pytest.mark.parametrize("how", ["file", "http"])
def test_causal_sentence_view_aggregate_hide_first_and_labels(llama_site, how, tmp_path):
    sec, sents = site_data(llama_site)
    assert sec["model"]["is_causal"] and sec["model"]["n_kv_heads"] < sec["model"]["n_heads"]
    W = block(llama_site, sec, sents, LAYER, HEAD, SENTENCE)
    with open_site(llama_site, how) as (page, base):
        page.goto(base + f"attention-head.html?l={LAYER}&h={HEAD}&s={SENTENCE}")
        ready(page)
        # decoders: no [CLS] box; the first token (BOS or first word) can be hidden
        assert page.locator("#att-hide-cls").count() == 0
        assert "BOS" in page.locator("label:has(#att-hide-first)").inner_text()
        lines = page.evaluate(SVG_LINES)
        assert len(lines) >= sents["n_tokens"][SENTENCE]
        assert all(k <= q and y2 <= y1 for q, k, _, y1, y2 in lines)  # never a later key: every line goes level or up
        assert_lines_match(lines, W)
        # the aggregate's upper triangle is empty (transparent), its lower triangle drawn
        alpha = page.evaluate("""(() => { const c = document.getElementById('att-agg');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const out = []; for (let i = 3; i < d.length; i += 4) out.push(d[i]); return [c.width, out]; })()""")
        L = alpha[0]
        A = np.array(alpha[1]).reshape(L, L)
        assert L > 3 and np.all(A[np.triu_indices(L, 1)] == 0) and np.all(A[np.tril_indices(L)] == 255)
        assert "empty above the diagonal" in page.locator("#att-agg-legend").inner_text()
        page.screenshot(path=str(artifacts(tmp_path) / f"attention-decoder-head-{how}.png"), full_page=True)
        # hide the first token: its row and column go, every other row is renormalised over the rest
        n = int(page.evaluate("Number(document.body.dataset.attReady)"))
        page.check("#att-hide-first")
        ready(page, n + 1)
        assert "hide=first" in page.url
        lines = page.evaluate(SVG_LINES)
        assert all(q > 0 and k > 0 and k <= q for q, k, *_ in lines)
        rest = W.copy()
        rest[0, :] = rest[:, 0] = 0
        assert_lines_match(lines, rest / np.maximum(rest.sum(1, keepdims=True), 1e-12))
        # the matrix page names the decoder's sink
        page.goto(base + "attention.html")
        ready(page)
        legend = page.locator(".att-label-legend").inner_text()
        assert "first token sink" in legend and "next token" not in legend


@pytest.mark.parametrize("how", ["file", "http"])
def test_value_norm_toggle_reweights_sentence_view_and_plot_lines(llama_site, how, tmp_path):
    sec, sents = site_data(llama_site)
    assert "value_norms" in sec["files"]
    W = block(llama_site, sec, sents, LAYER, HEAD, SENTENCE)
    V = value_weighted(llama_site, sec, sents, LAYER, HEAD, SENTENCE)
    assert np.abs(V - W).max() > 0.01  # the toggle must visibly change something on this head
    start = sents["token_offset"][SENTENCE]
    with open_site(llama_site, how) as (page, base):
        page.goto(base + f"attention-head.html?l={LAYER}&h={HEAD}&s={SENTENCE}&t=3")
        ready(page)
        assert not page.locator("#att-vnorm").is_checked()
        n = int(page.evaluate("Number(document.body.dataset.attReady)"))
        page.check("#att-vnorm")
        ready(page, n + 1)
        assert "vnorm=1" in page.url
        lines = page.evaluate(SVG_LINES)
        assert lines and all(k <= q for q, k, *_ in lines)
        assert_lines_match(lines, V)
        # the plot's attention lines (and tooltip) follow: top-2 keys of every query of the sentence
        for pos in range(sents["n_tokens"][SENTENCE]):
            got = page.evaluate(f"document.getElementById('att-stage').inspect.topKeys({start + pos}, 2)")
            want = [(int(k), V[pos, k]) for k in np.argsort(-V[pos], kind="stable")[:2] if V[pos, k] >= 0.05]
            assert [g["pos"] for g in got] == [k for k, _ in want]
            assert [g["w"] for g in got] == pytest.approx([w for _, w in want], abs=2e-4)
        page.screenshot(path=str(artifacts(tmp_path) / f"attention-decoder-vnorm-{how}.png"), full_page=True)
        # a deep link restores it; back turns it off
        page.go_back()
        ready(page, n + 2)
        assert not page.locator("#att-vnorm").is_checked()
        assert_lines_match(page.evaluate(SVG_LINES), W)
