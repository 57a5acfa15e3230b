"""Factor pages (issue 4): the factor index (factors.html), one factor page for every factor
(factor.html?f=ID&l=LAYER: a single HTML file whose URL restores the view) and the quality page
(quality.html). Front-end: assets/js/factor-*.js, assets/css/factors.css; docs/factor-pages.md.

Besides the pages, ``render`` writes one derived data file, ``data/factors/search.parquet`` (+ its
.js twin): the word index behind the index page's "which factors fire on this word?" search.
It is derived from the factor bundle (top-k contexts) and tokens.parquet, so it is written here
rather than by the factor stage; it is deterministic like every other data file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..bundles import js_twin, parquet_bytes
from ..render import render_page

NAV = [("factors.html", "Factors"), ("quality.html", "Factor quality")]

SEARCH_FILE = "factors/search.parquet"


def render(env: jinja2.Environment, site_dir: Path, manifest: dict[str, Any]) -> None:
    factors = manifest.get("factors")
    if not factors or not factors.get("n_factors"):
        return
    site_dir = Path(site_dir)
    search = write_search_index(site_dir, factors)
    ctx = {"manifest": manifest, "factors": factors, "search": search}
    render_page(env, site_dir, "factors.html", "factors.html", **ctx)
    render_page(env, site_dir, "factor.html", "factor.html", **ctx)
    render_page(env, site_dir, "quality.html", "quality.html", **ctx)


# ----------------------------------------------------------------------------- word index


def _is_alnum(text: str, at: int) -> bool:
    return bool(text) and text[at].isalnum()


def word_keys(texts: list[str], space_before: np.ndarray, special: np.ndarray, sentence_start: np.ndarray) -> tuple[list[str], list[str]]:
    """(token key, word key) for every token: the lowercased token text and the lowercased whole
    word it belongs to. Word-piece rule (any tokenizer): a token continues the previous word when
    no space precedes it, neither is a special token, and the two touch with letters/digits
    ("play"+"ing", "196"+"9"; not "park"+",")."""
    n = len(texts)
    tok = [t.strip().lower() for t in texts]
    cont = np.zeros(n, bool)
    for i in range(1, n):
        if sentence_start[i] or space_before[i] or special[i] or special[i - 1]:
            continue
        a, b = texts[i - 1], texts[i]
        cont[i] = _is_alnum(a, -1) and _is_alnum(b, 0)
    word = list(tok)
    i = 0
    while i < n:
        j = i + 1
        while j < n and cont[j]:
            j += 1
        if j - i > 1:
            w = "".join(tok[i:j])
            for k in range(i, j):
                word[k] = w
        i = j
    return tok, word


def write_search_index(site_dir: Path, factors: dict[str, Any]) -> dict[str, Any]:
    """data/factors/search.parquet: for every (word, factor), how many of the factor's top-k
    contexts activate on that word, at the layer where that count is highest.

    Columns: key (lowercased token text or whole word; both are indexed, so "playing" finds the
    factors firing on its piece "##ing" too), factor int32, layer int8 (best layer), count int16
    (of top_k), total int32 (occurrences of the key in the corpus). Sorted by key, then count
    descending. Returns a small description for the templates."""
    data = site_dir / "data"
    tokens = pq.read_table(data / "tokens.parquet", columns=["sentence_id", "position", "text", "space_before", "is_special"])
    sentences = pq.read_table(data / "sentences.parquet", columns=["token_offset"])
    texts = tokens.column("text").to_pylist()
    space = tokens.column("space_before").to_numpy(zero_copy_only=False)
    special = tokens.column("is_special").to_numpy(zero_copy_only=False)
    start = tokens.column("position").to_numpy() == 0
    tok_key, word_key = word_keys(texts, space, special, start)
    vocab, inverse = np.unique(np.array(tok_key + word_key, dtype=object), return_inverse=True)
    n = len(texts)
    tok_id, word_id = inverse[:n], inverse[n:]
    total = np.bincount(tok_id, minlength=len(vocab))
    word_total = np.bincount(word_id[word_id != tok_id], minlength=len(vocab))
    total = total + word_total
    offsets = sentences.column("token_offset").to_numpy().astype(np.int64)

    n_layers = int(factors["n_layers"])
    n_keys = len(vocab)
    codes = []
    files = factors["files"]
    for chunk in range(int(factors["n_chunks"])):
        t = pq.read_table(data / files["topk"].format(chunk=chunk), columns=["factor", "layer", "sentence_id", "position"])
        rows = offsets[t.column("sentence_id").to_numpy()] + t.column("position").to_numpy().astype(np.int64)
        fl = t.column("factor").to_numpy().astype(np.int64) * n_layers + t.column("layer").to_numpy().astype(np.int64)
        ki, kw = tok_id[rows], word_id[rows]
        codes.append(fl * n_keys + ki)
        other = kw != ki
        codes.append(fl[other] * n_keys + kw[other])
    code, count = np.unique(np.concatenate(codes) if codes else np.zeros(0, np.int64), return_counts=True)
    key = code % n_keys
    fl = code // n_keys
    factor, layer = fl // n_layers, fl % n_layers
    # best layer per (key, factor): highest count, then the earliest layer
    order = np.lexsort((layer, -count, factor, key))
    key, factor, layer, count = key[order], factor[order], layer[order], count[order]
    first = np.ones(len(key), bool)
    first[1:] = (key[1:] != key[:-1]) | (factor[1:] != factor[:-1])
    key, factor, layer, count = key[first], factor[first], layer[first], count[first]
    # single hits of common words are noise and make up most rows: keep a (word, factor) pair when
    # at least 2 top contexts hit the word, or when they cover every occurrence of a rare word
    keep = (count >= 2) | (count >= total[key])
    key, factor, layer, count = key[keep], factor[keep], layer[keep], count[keep]
    order = np.lexsort((factor, -count, key))
    key, factor, layer, count = key[order], factor[order], layer[order], count[order]
    table = pa.table({
        "key": pa.array(vocab[key].tolist(), pa.string()),
        "factor": pa.array(factor.astype(np.int32)),
        "layer": pa.array(layer.astype(np.int8)),
        "count": pa.array(count.astype(np.int16)),
        "total": pa.array(total[key].astype(np.int32)),
    })
    payload = parquet_bytes(table)
    path = data / SEARCH_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    (data / f"{SEARCH_FILE}.js").write_bytes(js_twin(SEARCH_FILE, payload))
    return {"file": SEARCH_FILE, "rows": table.num_rows, "bytes": len(payload)}
