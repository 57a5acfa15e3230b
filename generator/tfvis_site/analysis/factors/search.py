"""The factor word index, ``data/factors/search.parquet``: which factors fire on a word?

Derived from the factor bundle (top-k contexts) and tokens.parquet, so it is written after both,
through the same BundleWriter, and listed in the manifest like every other data file
(``manifest["factors"]["search"]``). Read by the factor index page (assets/js/factor-index.js).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

SEARCH_FILE = "factors/search.parquet"
IMAGE_FILE = "factors/by-image.parquet"


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


def write_word_index(bundle: Any, factors: dict[str, Any]) -> dict[str, Any]:
    """data/factors/search.parquet: for every (word, factor), how many of the factor's top-k
    contexts activate on that word, at the layer where that count is highest.

    Columns: key (lowercased token text or whole word; both are indexed, so "playing" finds the
    factors firing on its piece "##ing" too), factor int32, layer int8 (best layer), count int16
    (of top_k), total int32 (occurrences of the key in the corpus). Sorted by key, then count
    descending. ``bundle`` is the site's ``tfvis_site.site.bundles.BundleWriter`` (the factor bundle
    and tokens.parquet are already in it); returns ``manifest["factors"]["search"]``.

    The text modality's search index (modality/text.py); an image build's units are patches
    named "patch r,c", with no words: it indexes factors by image instead (``write_image_index``)."""
    tokens = bundle.read_table("tokens.parquet", columns=["sentence_id", "position", "text", "space_before", "is_special"])
    sentences = bundle.read_table("sentences.parquet", columns=["token_offset"])
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
        t = bundle.read_table(files["topk"].format(chunk=chunk), columns=["factor", "layer", "sentence_id", "position"])
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
    bundle.add_table(SEARCH_FILE, table)
    return {"file": SEARCH_FILE, "rows": table.num_rows}


def write_image_index(bundle: Any, factors: dict[str, Any], keep_rank: int = 12) -> dict[str, Any]:
    """Image builds: ``data/factors/by-image.parquet``, which factors fire on an image? For every
    (image, factor): how many of the factor's top-k contexts at its PEAK layer lie in the image
    (``count``) and the strongest of them (``value``, ``position``: its unit). Columns: image
    int32 (sentence_id), factor int32, layer int8 (the factor's peak layer), count int16,
    position int16, value float32; sorted by image, then count and value descending. A pair with
    a single context is kept only when that context ranks among the factor's top ``keep_rank``
    (like the word index drops single hits: they are most of the rows and mostly noise).
    Returns ``manifest["factors"]["search"]["by_image"]``."""
    files = factors["files"]
    peak = bundle.read_table(files["index"], columns=["peak_layer"]).column("peak_layer").to_numpy().astype(np.int64)
    parts = []
    for chunk in range(int(factors["n_chunks"])):
        t = bundle.read_table(files["topk"].format(chunk=chunk), columns=["factor", "layer", "rank", "sentence_id", "position", "value"])
        f = t.column("factor").to_numpy().astype(np.int64)
        at_peak = t.column("layer").to_numpy().astype(np.int64) == peak[f]
        parts.append({k: t.column(k).to_numpy()[at_peak] for k in ("factor", "rank", "sentence_id", "position", "value")})
    cat = {k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0) for k in ("factor", "rank", "sentence_id", "position", "value")}
    image, factor = cat["sentence_id"].astype(np.int64), cat["factor"].astype(np.int64)
    value, position, rank = cat["value"].astype(np.float32), cat["position"].astype(np.int64), cat["rank"].astype(np.int64)
    # strongest context first within each (image, factor)
    order = np.lexsort((rank, factor, image))
    image, factor, value, position, rank = image[order], factor[order], value[order], position[order], rank[order]
    first = np.ones(len(image), bool)
    first[1:] = (image[1:] != image[:-1]) | (factor[1:] != factor[:-1])
    starts = np.nonzero(first)[0]
    count = np.diff(np.append(starts, len(image)))
    image, factor, value, position, rank = image[starts], factor[starts], value[starts], position[starts], rank[starts]
    keep = (count >= 2) | (rank < keep_rank)
    image, factor, value, position, count = image[keep], factor[keep], value[keep], position[keep], count[keep]
    order = np.lexsort((factor, -value, -count, image))
    image, factor, value, position, count = image[order], factor[order], value[order], position[order], count[order]
    table = pa.table({
        "image": pa.array(image.astype(np.int32)),
        "factor": pa.array(factor.astype(np.int32)),
        "layer": pa.array(peak[factor].astype(np.int8)),
        "count": pa.array(count.astype(np.int16)),
        "position": pa.array(position.astype(np.int16)),
        "value": pa.array(value),
    })
    bundle.add_table(IMAGE_FILE, table)
    return {"file": IMAGE_FILE, "rows": table.num_rows,
            "meaning": "per (image, factor): how many of the factor's top-k contexts at its peak layer lie in the image, and the strongest",
            "kept": f"pairs with at least 2 contexts, or whose strongest context ranks in the factor's top {keep_rank}"}
