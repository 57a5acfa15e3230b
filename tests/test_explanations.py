"""Rule explanations (issue 25): a factor planted to fire on one token, on a token after another
or on the first token gets that rule with a held-out score near 1; a factor active at random
gets a rule that fits the half it was chosen on and scores about 0.5 on the half it was not;
the image features find a planted "top rows and blue" factor; the tiny text and image builds
write factors/explanations.parquet and its manifest section, whose feature definitions
reproduce the stage's labels from tokens.parquet alone; ``probe --factor F --json`` prints the
peak layer's explanation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sites import model_folder, read_manifest

from tfvis_site.analysis.explanations import ExplanationConfig, explain_factors, image_rule_features, text_rule_features
from tfvis_site.progress import Reporter
from tfvis_site.site.bundles import read_data_table

WORDS = ("the", "of", "and", "a", "in", "to", "was", "is", "for", "on", "river", "city", "old", "new", "king", "war", "music",
         "art", "school", "park", "one", "two", "north", "south", "first", "great", "small", "long", "house", "road")


def synthetic_tokens(n_sentences: int = 600, seed: int = 0) -> pa.Table:
    """A tokens.parquet-like table: [CLS], 6-14 words drawn with Zipf-like frequencies (now and
    then a comma, or a word split in two pieces), [SEP]."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, len(WORDS) + 1)
    p /= p.sum()
    cols: dict[str, list] = {k: [] for k in ("sentence_id", "position", "token_id", "piece", "text", "space_before", "is_special")}

    def add(s: int, text: str, space: bool, special: bool = False) -> None:
        cols["position"].append(cols["position"][-1] + 1 if cols["sentence_id"] and cols["sentence_id"][-1] == s else 0)
        cols["sentence_id"].append(s)
        cols["token_id"].append(0)
        cols["piece"].append(text)
        cols["text"].append(text)
        cols["space_before"].append(space)
        cols["is_special"].append(special)

    for s in range(n_sentences):
        add(s, "[CLS]", False, True)
        for i in range(rng.integers(6, 15)):
            word = str(WORDS[rng.choice(len(WORDS), p=p)])
            if rng.random() < 0.05:
                add(s, ",", False)
            if word in ("river", "school") and rng.random() < 0.5:  # a word in two pieces: "riv" + "er"
                add(s, word[:3], i > 0)
                add(s, word[3:], False)
            else:
                add(s, word.capitalize() if i == 0 else word, i > 0)
        add(s, "[SEP]", False, True)
    return pa.table(cols)


class Planted:
    """A FactorActivity of planted factors: ``active`` (n_rows, m) bool at the one layer, with
    activations drawn at random where active; activating contexts are drawn uniformly from
    equal-count bands of the factor's activations, as the factor result's samples are."""

    def __init__(self, active: np.ndarray, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.values = np.where(active, rng.uniform(0.1, 3.0, active.shape), 0.0).astype(np.float32)

    def importance(self) -> np.ndarray:
        return (self.values.max(0) > 0).astype(np.float64)[:, None]

    def peak_layers(self) -> np.ndarray:
        return np.zeros(self.values.shape[1], np.int64)

    def codes(self, rows: np.ndarray, layer: int) -> np.ndarray:
        return self.values[rows]

    def activating(self, factor, layer, cfg, rng, pool_rows, pool_values):
        rows = np.flatnonzero(self.values[:, factor] > 0)
        order = np.argsort(self.values[rows, factor], kind="stable")
        bands = np.zeros(len(rows), np.int64)
        bands[order] = np.arange(len(rows)) * cfg.bands // max(len(rows), 1)
        chosen = [r for band in range(cfg.bands) for r in rng.permutation(rows[bands == band])[:cfg.per_band]]
        return np.asarray(chosen, np.int64), np.repeat(np.arange(cfg.bands), [min(cfg.per_band, int((bands == b).sum())) for b in range(cfg.bands)])


def explain(active: np.ndarray, features, **cfg) -> list[dict]:
    table = explain_factors(Planted(active), features, len(active), ExplanationConfig(**cfg), Reporter.silent())
    return table.to_pylist()


@pytest.fixture(scope="module")
def tokens() -> pa.Table:
    return synthetic_tokens()


@pytest.fixture(scope="module")
def features(tokens):
    return text_rule_features(tokens)


def labels(tokens: pa.Table, features, name: str) -> np.ndarray:
    f = features.features[features.named(name)]
    return np.asarray([f.labels[c] if c >= 0 else None for c in f.codes], dtype=object)


def test_a_factor_of_one_token_gets_that_token_with_a_score_near_1(tokens, features):
    token = labels(tokens, features, "token")
    row = explain((token == "king")[:, None], features)[0]
    assert json.loads(row["rule"]) == {"all": [{"feature": "token", "values": ["king"]}]}
    assert row["text"] == 'the token "king"' and row["explained"] and row["kind"] == "rule"
    assert row["score"] >= 0.97 and row["one_token_score"] == row["score"]
    assert row["n_scored"] >= 40 and row["n_active"] >= 20  # on the held-out half: 10 bands x 10 contexts, half of them


def test_a_token_after_another_gets_the_bigram_and_the_token_alone_scores_less(tokens, features):
    token, previous = labels(tokens, features, "token"), labels(tokens, features, "previous")
    row = explain(((token == "the") & (previous == "of"))[:, None], features)[0]
    assert json.loads(row["rule"]) == {"all": [{"feature": "token", "values": ["the"]}, {"feature": "previous", "values": ["of"]}]}
    assert row["text"] == 'the token "the" after "of"'
    assert row["score"] >= 0.95
    # "the" follows many words: the token alone holds on many of the non-activating contexts
    assert row["one_token_score"] < row["score"] - 0.05 and row["one_token_text"] == 'the token "the"'


def test_the_first_token_and_a_word_in_pieces(tokens, features):
    first = labels(tokens, features, "first") == "yes"
    word = labels(tokens, features, "word")
    rows = explain(np.stack([first, word == "river"], 1), features)
    assert json.loads(rows[0]["rule"]) == {"all": [{"feature": "first", "values": ["yes"]}]}
    assert rows[0]["text"] == "the first token" and rows[0]["score"] >= 0.95
    assert json.loads(rows[1]["rule"]) == {"all": [{"feature": "word", "values": ["river"]}]}
    assert rows[1]["text"] == 'a token of the word "river"' and rows[1]["score"] >= 0.95
    # the unit alone: the set of its two pieces, "riv" or "er", one condition more
    assert rows[1]["one_token_text"] == 'the token "er" or "riv"' and rows[1]["one_token_score"] >= 0.9


def test_a_random_factor_fits_its_selection_half_and_scores_chance_on_the_held_out_half(tokens, features):
    """The honesty of the score: rules chosen on noise look good where they were chosen and
    score ~0.5 where they were not."""
    rng = np.random.default_rng(1)
    active = rng.random((tokens.num_rows, 60)) < 0.05
    rows = explain(active, features)
    score = np.array([r["score"] for r in rows])
    fit = np.array([r["fit"] for r in rows])
    assert np.isfinite(score).all()
    assert abs(score.mean() - 0.5) < 0.03, score.mean()
    assert fit.mean() > score.mean() + 0.05, (fit.mean(), score.mean())  # the search does fit the noise it sees
    assert np.mean([r["explained"] for r in rows]) <= 0.1
    assert all(r["text"].startswith("no short rule explains it") for r in rows if not r["explained"])


def test_layers_within_the_fraction_of_the_peak_are_explained_too():
    from tfvis_site.analysis.explanations.stage import explained_layers

    importance = np.array([[0.1, 0.5, 1.0, 0.85, 0.2], [0.0, 0.0, 0.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0, 1.7]])
    got = explained_layers(importance, np.array([2, 0, 0]), 0.8)
    assert [g.tolist() for g in got] == [[2, 3], [0], [0, 4]]


def image_tokens(n_images: int = 40, grid: int = 8, seed: int = 0) -> pa.Table:
    """An image store's unit table: [CLS], then grid x grid patches with random colour statistics."""
    rng = np.random.default_rng(seed)
    cols: dict[str, list] = {k: [] for k in ("sentence_id", "position", "text", "is_special", "row", "col", "hue", "saturation",
                                             "brightness", "frequency")}
    for image in range(n_images):
        units = [("[CLS]", True, -1, -1)] + [(f"patch {r},{c}", False, r, c) for r in range(grid) for c in range(grid)]
        for position, (text, special, r, c) in enumerate(units):
            for name, value in zip(("sentence_id", "position", "text", "is_special", "row", "col"), (image, position, text, special, r, c)):
                cols[name].append(value)
            cols["hue"].append(float(rng.random()))
            cols["saturation"].append(float(rng.uniform(0, 1)))
            cols["brightness"].append(float(rng.random()))
            cols["frequency"].append(float(rng.exponential(2.0)))
    return pa.table(cols)


def test_image_features_find_a_patch_in_the_top_rows_with_blue_hue():
    table = image_tokens()
    features = image_rule_features(table, (8, 8))
    hue = features.features[features.named("hue")]
    rows = features.features[features.named("row")]
    blue_top = (np.asarray(hue.labels, object)[np.maximum(hue.codes, 0)] == "blue") & (hue.codes >= 0) & (rows.codes == 0)
    cls = np.asarray(table.column("text").to_pylist()) == "[CLS]"
    got = explain(np.stack([blue_top, cls], 1), features)
    assert json.loads(got[0]["rule"]) == {"all": [{"feature": "row", "values": ["rows 0-1"]}, {"feature": "hue", "values": ["blue"]}]}
    assert got[0]["text"] == "a patch in the top rows (0-1) with blue hue" and got[0]["score"] >= 0.95
    assert got[0]["one_token_score"] == got[0]["score"]  # a patch's features all read the patch itself
    assert got[1]["text"] == "the [CLS] token" and got[1]["score"] >= 0.95


# ----------------------------------------------------------------------------- the builds


def reference_labels(tokens: pa.Table, name: str, spec: dict) -> list:
    """A feature's labels computed from tokens.parquet and the manifest's spec alone (what the
    pages will do to mark a rule's matches)."""
    t = tokens.to_pydict()
    n = len(t["text"])

    def label(i: int) -> str:
        text = t["text"][i]
        if spec.get("special_as_written") and t["is_special"][i]:
            return text
        text = text.strip() if spec.get("trim") else text
        return text.lower() if spec.get("lowercase") else text

    same = [i > 0 and t["sentence_id"][i] == t["sentence_id"][i - 1] for i in range(n)]
    kind = spec["kind"]
    if kind == "text":
        return [label(i) if spec["offset"] == 0 else (label(i - 1) if same[i] and not (spec["none_if_special"] and t["is_special"][i - 1]) else None) for i in range(n)]
    if kind in ("first", "last"):
        plain = [i for i in range(n) if not t["is_special"][i]]
        ends = {}
        for i in plain:
            s = t["sentence_id"][i]
            ends.setdefault(s, [i, i])[1] = i
        marked = {v[0 if kind == "first" else 1] for v in ends.values()}
        return ["yes" if i in marked else None for i in range(n)]
    if kind == "after_punctuation":
        return ["yes" if same[i] and not t["is_special"][i - 1] and t["text"][i - 1].strip()
                and not any(ch.isalnum() for ch in t["text"][i - 1]) else None for i in range(n)]
    if kind == "word":
        out, start = [None] * n, 0
        for i in range(n + 1):
            if i < n and i > start and same[i] and not t["space_before"][i] and not t["is_special"][i] and not t["is_special"][i - 1] \
                    and t["text"][i].strip().isalnum() and t["text"][i - 1].strip().isalnum():
                continue
            if i - start >= 2:
                out[start:i] = ["".join(t["text"][j].strip().lower() for j in range(start, i))] * (i - start)
            start = i
        return out
    if kind == "cuts":
        assert spec["none_when"] == "is_special"
        values = t[spec["column"]]
        return [None if t["is_special"][i] else spec["labels"][sum(v >= c for c in spec["cuts"])] for i, v in enumerate(values)]
    if kind == "hue":
        assert spec["none_when"] == "is_special"
        return [None if t["is_special"][i] else "grey" if t["saturation"][i] < spec["grey_below"]
                else spec["sectors"][int(np.floor(t["hue"][i] * 6 + 0.5)) % 6] for i in range(n)]
    raise AssertionError(f"unknown feature kind {kind}")


@pytest.mark.parametrize("fixture", ["tiny_site", "tiny_image_site"])
def test_the_build_writes_the_explanations(fixture, request):
    from tfvis_site.modality import modality_named

    site = request.getfixturevalue(fixture)
    manifest = read_manifest(site)
    section = manifest["factors"]["explanations"]
    data = model_folder(site) / "data"
    table = read_data_table(data, section["file"])
    assert (data / (section["file"] + ".js")).exists() and section["file"] in manifest["files"]
    assert {"factor", "layer", "text", "kind", "score", "one_token_score", "rule", "n_scored"} <= set(table.column_names)
    rows = table.to_pylist()
    m = manifest["factors"]["n_factors"]
    index = read_data_table(data, "factors/index.parquet").to_pylist()
    peaks = {(r["factor"], r["layer"]) for r in rows if r["peak"]}
    assert peaks == {(r["factor"], r["peak_layer"]) for r in index} and len(peaks) == m
    scored = [r for r in rows if r["score"] is not None]
    assert scored and all(0 <= r["score"] <= 1 and 0 <= r["one_token_score"] <= 1 and r["n_scored"] > 0 for r in scored)
    assert all(r["kind"] == "rule" and r["text"] for r in rows)
    assert all(r["explained"] == (r["score"] >= section["thresholds"]["explained"]) for r in scored)
    summary = section["summary"]
    assert summary["factors"] == m and summary["scored"] == len([r for r in scored if r["peak"]])
    assert summary["score"]["q1"] <= summary["score"]["median"] <= summary["score"]["q3"]
    # every rule names features the manifest defines, and their labels computed from tokens.parquet
    # alone are the stage's labels: the rule's matches can be found from the site's data
    tokens = read_data_table(data, "tokens.parquet")
    kind = modality_named(manifest["modality"])
    features = text_rule_features(tokens) if kind.reads_text else image_rule_features(tokens, tuple(manifest["image"]["grid"]))
    assert set(section["features"]) == {f.name for f in features.features}
    for f in features.features:
        want = [f.labels[c] if c >= 0 else None for c in f.codes]
        assert reference_labels(tokens, f.name, section["features"][f.name]) == want, f.name
    assert any(r["rule"] is not None for r in scored)
    for r in scored:
        for condition in json.loads(r["rule"] or '{"all": []}')["all"]:
            f = features.features[features.named(condition["feature"])]
            assert set(condition["values"]) <= set(f.labels)


def probe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tfvis_site", "probe", *args], capture_output=True, text=True, timeout=300)


def test_probe_prints_the_peak_layers_explanation(tiny_site):
    manifest = read_manifest(tiny_site)
    rows = read_data_table(model_folder(tiny_site) / "data", manifest["factors"]["explanations"]["file"]).to_pylist()
    row = next(r for r in rows if r["peak"] and r["score"] is not None)
    proc = probe(str(tiny_site), "--factor", str(row["factor"]), "--json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)["explanation"]
    assert got == {"text": row["text"], "kind": "rule", "score": pytest.approx(row["score"]), "fuzzing_score": None,
                   "one_token_score": pytest.approx(row["one_token_score"]), "layer": row["layer"], "other": None}
    text = probe(str(tiny_site), "--factor", str(row["factor"]))
    printed = " ".join(text.stdout.split())  # rich wraps lines at the terminal's width
    assert text.returncode == 0 and row["text"] in printed and f"score {row['score']:.2f}" in printed


def test_the_explanations_table_of_the_config(tmp_path):
    from tfvis_site.errors import UserError
    from tfvis_site.run.build import analysis_config
    from tfvis_site.run.config import resolve

    (tmp_path / "a.toml").write_text("[explanations]\nthreshold = 0.75\nenabled = false\n")
    config = resolve(tmp_path / "a.toml", {})
    cfg = analysis_config(ExplanationConfig, "explanations", config)
    assert (cfg.threshold, cfg.enabled, cfg.seed) == (0.75, False, config.seed)
    (tmp_path / "b.toml").write_text("[explanations]\nthreshold = 0.4\n")
    with pytest.raises(UserError, match=r"\[explanations\]: threshold"):
        analysis_config(ExplanationConfig, "explanations", resolve(tmp_path / "b.toml", {}))
    (tmp_path / "c.toml").write_text("[explanations]\nnope = 1\n")
    with pytest.raises(UserError, match=r"\[explanations\]"):
        analysis_config(ExplanationConfig, "explanations", resolve(tmp_path / "c.toml", {}))
