"""The live probe in Chromium (issue 14) on tiny BERT and Llama (GQA, causal) sites: typed text
through the site's ONNX model, tokenizer and encoder in the browser gives, in the factor page's
data-activation cells, what `tfvis-site probe --factor F --json` prints (within 0.02), and attention
weights within 1e-3 of the PyTorch model's; typed HTML stays text; the URL restores the view and the
back button works; long input is truncated with a notice; a model without a live probe says so."""

from __future__ import annotations

import base64
import json
import shutil
from urllib.parse import quote

import numpy as np
import pytest
from browser import console_errors, model_base, skip_without_chromium
from live_reference import (
    assert_activations_match,
    assert_attentions_match,
    probe_json,
    reference,
    torch_attentions,
)
from sites import model_folder
from tfvis_site.site.bundles import js_twin
from tiny import TRAIN_TEXT

pytestmark = [pytest.mark.browser, skip_without_chromium]

MAX_TOKENS = 24
SENTENCES = [
    "The old mill by the river was quiet.",
    "A cat and a dog sat in the park.",
    "Paris is the capital of France.",
    "She walked to the school at dawn!",
    "Water boils at 100 degrees.",
]
HOSTILE = "<img src=x onerror=pwn(1)>"  # short: the tiny tokenizer splits it into characters


def _build(tmp_path_factory, kind, checkpoint):
    from tfvis_site.cli import main

    root = tmp_path_factory.mktemp(f"live-web-{kind}")
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(TRAIN_TEXT * 2 + [f"Sentence number {i} about the cat and the dog." for i in range(24)]) + "\n")
    site = root / "site"
    code = main(["build", "--quiet", "--preset", "quick", "--model", str(checkpoint), "--corpus", str(corpus), "--out", str(site),
                 "--cache-dir", str(root / "cache"), "--max-tokens", str(MAX_TOKENS)])
    assert code == 0
    return site


@pytest.fixture(scope="module")
def live_sites(tiny_checkpoints, tmp_path_factory):
    return {kind: _build(tmp_path_factory, kind, tiny_checkpoints[kind]) for kind in ("bert", "llama")}


def table(page) -> tuple[list[str], np.ndarray]:
    """The live table of the factor page: (token texts, (T, L+1) data-activation values)."""
    rows = page.eval_on_selector_all("#live-table tbody tr", """rows => rows.map(r => [r.querySelector('th').textContent,
        Array.from(r.querySelectorAll('td')).map(td => Number(td.dataset.activation))])""")
    return [r[0] for r in rows], np.array([r[1] for r in rows])


def submit(page, text: str) -> None:
    """Type text into the live form and wait until its result is shown."""
    before = page.evaluate("document.body.dataset.liveReady || ''")
    page.fill("#live-input", text)
    page.click("#live-run")
    page.wait_for_function("b => (document.body.dataset.liveReady || '') !== b", arg=before, timeout=60_000)


def strongest_factor(site, text: str) -> int:
    acts = reference(site).activations(text)  # (T, L+1, m)
    return int(acts.max(axis=(0, 1)).argmax())


@pytest.mark.parametrize("kind", ["bert", "llama"])
def test_factor_page_activations_match_probe(live_sites, browser, kind):
    """5 sentences (2 for Llama), each on the page of its own strongest factor: the first restored
    from the URL, the others typed into the form of that factor's page."""
    site = live_sites[kind]
    cache = site.parent / "cache"
    sentences = SENTENCES if kind == "bert" else SENTENCES[:2]
    page = browser.new_page()
    errors = console_errors(page)
    factors = []
    with model_base(site, "file") as base:
        for i, text in enumerate(sentences):
            factor = strongest_factor(site, text)
            factors.append(factor)
            if i == 0:
                page.goto(f"{base}factor.html?f={factor}&l=1&text={quote(text)}")
                page.wait_for_selector("#live-table", timeout=60_000)
            else:
                page.goto(f"{base}factor.html?f={factor}&l=1")
                page.wait_for_selector("#live-input", timeout=60_000)
                submit(page, text)
            expected = probe_json(site, text, factor, cache)
            tokens, values = table(page)
            assert len(tokens) == len(expected["tokens"])
            assert (values > 0).any()  # the browser shows the factor active, not only the reference
            assert_activations_match(values, expected)
            assert page.evaluate("new URLSearchParams(location.search).get('text')") == text
            assert page.evaluate("new URLSearchParams(location.search).get('f')") == str(factor)
    assert len(set(factors)) > 1 or kind == "llama"  # not one factor checked five times
    assert errors == []
    page.close()


@pytest.mark.parametrize("kind, how", [("bert", "http"), ("llama", "file")])
def test_attention_weights_match_torch(live_sites, tiny_checkpoints, browser, kind, how):
    site = live_sites[kind]
    text = SENTENCES[0]
    page = browser.new_page()
    errors = console_errors(page)
    with model_base(site, how) as base:
        page.goto(f"{base}attention-head.html?l=1&h=2&live={quote(text)}")
        page.wait_for_selector("#live-out svg line", state="attached", timeout=60_000)
        shown = page.evaluate("[document.getElementById('live-out').dataset.layer, document.getElementById('live-out').dataset.head]")
        assert shown == ["1", "2"]
        got = page.evaluate("t => document.getElementById('live-card').inspect.load().then(p => p.run(t)).then(r => ({n: r.n, L: r.nLayers, H: r.nHeads, w: Array.from(r.attentions)}))", text)
        lines = page.eval_on_selector_all("#live-out svg line", "ls => ls.map(l => [l._q, l._k])")
        # another head: the view follows the page's head selector
        page.select_option("#att-head", "0")
        page.wait_for_function("document.getElementById('live-out').dataset.head === '0'")
    weights = np.array(got["w"]).reshape(got["L"], got["H"], got["n"], got["n"])
    assert_attentions_match(weights, torch_attentions(tiny_checkpoints[kind], text, MAX_TOKENS))
    if kind == "llama":  # causal: no line from a query to a later key
        assert lines and all(q >= k for q, k in lines)
    assert errors == []
    page.close()


def test_typed_html_stays_text_and_back_button(live_sites, browser):
    site = live_sites["bert"]
    page = browser.new_page()
    errors = console_errors(page)
    with model_base(site, "file") as base:
        page.goto(f"{base}factor.html?f=0")
        page.wait_for_selector("body[data-ready]")
        page.evaluate("window.pwn = (n) => { window.__pwned = n; }")
        submit(page, SENTENCES[1])
        first_tokens = table(page)[0]
        submit(page, HOSTILE)
        assert page.evaluate("window.__pwned") is None
        assert page.eval_on_selector_all("#live-out img", "e => e.length") == 0
        assert page.text_content("#live-out .live-text") == "[CLS]" + HOSTILE + "[SEP]"
        assert "".join(table(page)[0]) == "[CLS]" + HOSTILE.replace(" ", "") + "[SEP]"
        # back: the previous text and its table come back, the factor stays
        before = page.evaluate("document.body.dataset.liveReady")
        page.go_back()
        page.wait_for_function("b => document.body.dataset.liveReady !== b", arg=before, timeout=60_000)
        assert page.input_value("#live-input") == SENTENCES[1]
        assert table(page)[0] == first_tokens
        # back again: no text, no table
        page.go_back()
        page.wait_for_function("!document.querySelector('#live-table')")
        assert page.input_value("#live-input") == ""
    assert errors == []
    page.close()


def test_long_text_is_truncated_with_a_notice(live_sites, browser):
    site = live_sites["bert"]
    text = " ".join(TRAIN_TEXT)
    page = browser.new_page()
    errors = console_errors(page)
    with model_base(site, "file") as base:
        page.goto(f"{base}factor.html?f=0&text={quote(text)}")
        page.wait_for_selector("#live-table", timeout=60_000)
        assert len(table(page)[0]) == MAX_TOKENS
        status = page.text_content("#live-status")
        assert f"only the first {MAX_TOKENS}" in status and page.get_attribute("#live-status", "class") == "live-notice"
    assert errors == []
    page.close()


def test_token_browser_strongest_factors(live_sites, browser):
    site = live_sites["bert"]
    text = SENTENCES[2]
    acts = reference(site).activations(text)  # (T, L+1, m)
    page = browser.new_page()
    errors = console_errors(page)
    with model_base(site, "file") as base:
        page.goto(f"{base}tokens.html?live={quote(text)}")
        page.wait_for_selector("#live-table", timeout=60_000)
        cells = page.eval_on_selector_all("#live-table tbody tr", """rows => rows.map(r => Array.from(r.querySelectorAll('td')).map(td =>
            Array.from(td.querySelectorAll('a')).map(a => [Number(a.dataset.factor), Number(a.dataset.activation), a.getAttribute('href')])))""")
    assert len(cells) == acts.shape[0] and len(cells[0]) == acts.shape[1]
    for t, row in enumerate(cells):
        for layer, links in enumerate(row):
            want = np.sort(acts[t, layer])[::-1][:3]
            got = [v for _, v, _ in links]
            assert np.allclose(got, want[want > 0][: len(got)], atol=0.02)
            for f, v, href in links:
                assert abs(acts[t, layer, f] - v) <= 0.02
                assert href.startswith(f"factor.html?f={f}&l={layer}&text=")
    assert errors == []
    page.close()


def test_model_without_live_probe_says_so(live_sites, browser, tmp_path):
    """A manifest with "live_unavailable": the form is disabled and the reason shown."""
    site = tmp_path / "site"
    shutil.copytree(live_sites["bert"], site)
    folder = model_folder(site)
    manifest_path = folder / "data" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["live"]
    manifest["live_unavailable"] = "the export failed on this model (test)"
    manifest_path.write_text(json.dumps(manifest))
    twin = manifest_path.with_name("manifest.json.js")
    if twin.exists():
        twin.write_bytes(js_twin("manifest.json", manifest_path.read_bytes()))
    page = browser.new_page()
    errors = console_errors(page)
    with model_base(site, "file") as base:
        page.goto(f"{base}factor.html?f=0&text=hello")
        page.wait_for_function("document.getElementById('live-input').disabled")
        assert "the export failed on this model (test)" in page.text_content("#live-status")
        assert page.evaluate("typeof window.ort") == "undefined"  # nothing of the runtime was loaded
    assert errors == []
    page.close()


def test_encoder_graph_is_the_documented_one(tmp_path):
    """The live probe (assets/src/lib/live-probe.js, shipped in the factor page's bundle) embeds the
    encoder's ONNX graph as base64: these are the bytes onnx.helper makes
    of z = (h - mean) / scale; pre = (z - b_dec) @ W_enc + b_enc, and onnxruntime agrees with numpy."""
    import re

    import onnx
    import onnxruntime
    from onnx import TensorProto, helper
    from tfvis_site.resources import resource_dir

    f = TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info("h", f, ["L", "T", "d"]), helper.make_tensor_value_info("mean", f, ["L", 1, "d2"]),
              helper.make_tensor_value_info("scale", f, ["L", 1, "d3"]), helper.make_tensor_value_info("b_dec", f, ["d"]),
              helper.make_tensor_value_info("W_enc", f, ["d", "m"]), helper.make_tensor_value_info("b_enc", f, ["m"])]
    nodes = [helper.make_node("Sub", ["h", "mean"], ["c"]), helper.make_node("Div", ["c", "scale"], ["z"]),
             helper.make_node("Sub", ["z", "b_dec"], ["zc"]), helper.make_node("MatMul", ["zc", "W_enc"], ["p"]),
             helper.make_node("Add", ["p", "b_enc"], ["pre"])]
    graph = helper.make_graph(nodes, "tfvis_encoder", inputs, [helper.make_tensor_value_info("pre", f, ["L", "T", "m"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tfvis-site")
    model.ir_version = 8
    onnx.checker.check_model(model)
    source = (resource_dir("assets") / "js" / "factor.js").read_text()
    embedded = re.search(r"ENCODER_ONNX = [\"']([^\"']+)[\"']", source).group(1)
    assert base64.b64decode(embedded) == model.SerializeToString()
    rng = np.random.default_rng(0)
    h, mean, scale = rng.normal(size=(3, 5, 8)), rng.normal(size=(3, 1, 8)), rng.uniform(0.5, 2, size=(3, 1, 8))
    b_dec, w, b_enc = rng.normal(size=8), rng.normal(size=(8, 6)), rng.normal(size=6)
    feeds = {k: v.astype(np.float32) for k, v in {"h": h, "mean": mean, "scale": scale, "b_dec": b_dec, "W_enc": w, "b_enc": b_enc}.items()}
    pre = onnxruntime.InferenceSession(base64.b64decode(embedded)).run(None, feeds)[0]
    assert np.allclose(pre, ((h - mean) / scale - b_dec) @ w + b_enc, atol=1e-4)


@pytest.mark.slow
@pytest.mark.xdist_group("minilm")
def test_minilm_live_probe_matches_probe(browser, minilm_quick_site):
    """The real MiniLM (quick preset, int8 weights): the factor page on one sentence equals probe --json,
    the attention weights the Python reference of the same ONNX file. The site: the default
    model's quick build (conftest.minilm_quick_site, shared with test_default_model.py)."""
    root, built = minilm_quick_site
    assert built.returncode == 0, built.stderr[-2000:]
    site = root / "site"
    text = "The old lighthouse keeper walked slowly along the rocky shore at dawn."
    factor = strongest_factor(site, text)
    page = browser.new_page()
    errors = console_errors(page)
    with model_base(site, "file") as base:
        page.goto(f"{base}factor.html?f={factor}&text={quote(text)}")
        page.wait_for_selector("#live-table", timeout=120_000)
        assert_activations_match(table(page)[1], probe_json(site, text, factor, root / "cache"))
        got = page.evaluate("t => document.getElementById('live-card').inspect.load().then(p => p.run(t)).then(r => ({n: r.n, L: r.nLayers, H: r.nHeads, w: Array.from(r.attentions)}))", text)
    # int8 weights move MiniLM's attention by up to 0.04 from PyTorch's: compare with the same ONNX file in Python
    weights = np.array(got["w"]).reshape(got["L"], got["H"], got["n"], got["n"])
    assert_attentions_match(weights, reference(site).attentions(text))
    assert errors == []
    page.close()
