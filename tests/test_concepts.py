"""Concept probes (concepts.py, ``tfvis-site probe --labels``, ``[[probes]]`` in a build): the
maths against scikit-learn, target finding, the labelled-file checks, and the whole path on the
tiny BERT site (activations equal to what ``probe --factor`` shows, the JSON shape, exit codes,
the build's Concepts data)."""

import json
from pathlib import Path

import numpy as np
import pytest
from shared import shared_folder
from sites import model_folder
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from tfvis_site.cache import StageCache
from tfvis_site.analysis.concepts import (
    MIN_PER_LABEL,
    SingleFactorProbe,
    f1_scores,
    find_target,
    fit_logistic_1d,
    predict_logistic_1d,
    read_labels,
    two_fold_split,
)
from tfvis_site.errors import UserError
from tfvis_site.site.bundles import read_data_table

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parent.parent / "docs" / "examples"
TINY_LABELS = DATA / "tiny-animals.jsonl"
#: In an example of the 3-label probe: must stay text on the Concepts page.
HOSTILE = "<img src=x onerror=alert(1)> dog"


# ----------------------------------------------------------------------------- maths

@pytest.mark.parametrize("n_classes", [2, 3])
def test_batched_logistic_regression_matches_scikit_learn(n_classes):
    rng = np.random.default_rng(0)
    n, m = 120, 6
    y = rng.integers(0, n_classes, n)
    x = rng.normal(size=(m, n)) + 0.8 * np.arange(m)[:, None] / m * (y - 1)[None]  # features of rising strength
    x[0] = np.where(y == 1, 5.0, -5.0) + rng.normal(size=n) * 0.1  # nearly separable: the L2 term must hold it
    coef, intercept, _ = fit_logistic_1d(x, y, n_classes)
    pred = predict_logistic_1d(x, coef, intercept, n_classes)
    for j in range(m):
        ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(x[j][:, None], y)
        ours_coef = coef[j] if n_classes > 2 else coef[j][:1]
        ref_coef = ref.coef_[:, 0]
        if n_classes > 2:  # K logits: compare what is identifiable (differences of the intercepts)
            np.testing.assert_allclose(coef[j], ref_coef, atol=2e-4)
            np.testing.assert_allclose(intercept[j] - intercept[j].mean(), ref.intercept_ - ref.intercept_.mean(), atol=2e-4)
        else:
            np.testing.assert_allclose(ours_coef, ref_coef, atol=2e-4)
            np.testing.assert_allclose(intercept[j], ref.intercept_, atol=2e-4)
        np.testing.assert_array_equal(pred[j], ref.predict(x[j][:, None]))


def test_f1_scores_match_scikit_learn():
    rng = np.random.default_rng(1)
    for k in (2, 3, 4):
        y = rng.integers(0, k, 50)
        pred = rng.integers(0, k, (5, 50))
        ours = f1_scores(y, pred, k)
        for row, score in zip(pred, ours):
            ref = f1_score(y, row, pos_label=0, average="binary") if k == 2 else f1_score(y, row, labels=range(k), average="macro", zero_division=0)
            assert score == pytest.approx(ref)
    assert float(f1_scores(np.array([1, 1]), np.array([1, 1]), 2)) == 0.0  # class 0 never true nor predicted


def test_single_factor_probe_finds_the_planted_factor():
    """Sparse non-negative codes (as an SAE gives): factor 1007 fires on class 0 only, the others
    at random. 1,100 examples x 1,200 factors: the regressions run in two chunks, 1007 in the second."""
    rng = np.random.default_rng(2)
    n, m = 1100, 1200
    y = np.repeat([0, 1], n // 2)
    X = np.where(rng.random((n, m)) < 0.05, rng.random((n, m)), 0.0)
    X[:, 1007] = np.where(y == 0, 1.0 + rng.random(n), np.where(rng.random(n) < 0.1, 0.3, 0.0))
    X[:, 11] = 0.0  # never active: no candidate
    probe = SingleFactorProbe(2).fit(X, y)
    assert probe.factor_ == 1007 and probe.train_f1_ > 0.95
    assert 0.0 < probe.threshold_ < 1.0 and probe.above_ == 0  # high activation -> class 0
    assert (probe.predict(X) == y).mean() > 0.95
    # nothing varies: the majority class, no factor
    flat = SingleFactorProbe(2).fit(np.zeros((10, 3)), np.array([1] * 6 + [0] * 4))
    assert flat.factor_ is None and (flat.predict(np.zeros((3, 3))) == 1).all()


def test_two_fold_split_is_stratified_and_seeded():
    y = np.array([0] * 11 + [1] * 20 + [2] * 7)
    folds = two_fold_split(y, seed=3)
    for k in range(3):
        counts = np.bincount(folds[y == k], minlength=2)
        assert abs(counts[0] - counts[1]) <= 1
    np.testing.assert_array_equal(folds, two_fold_split(y, seed=3))
    assert not np.array_equal(folds, two_fold_split(y, seed=4))


# ----------------------------------------------------------------------------- labelled files

def test_find_target_whole_word_case_insensitive():
    assert find_target("Lefty left, then LEFT again.", "left") == (6, 10)
    assert find_target("Turn Left, now.", "left") == (5, 9)
    assert find_target("leftover and lefts", "left") is None
    assert find_target("a+b is not a", "a+b") == (0, 3)  # regex characters are literal


def test_read_labels_of_the_documented_examples():
    left = read_labels(EXAMPLES / "left.jsonl")
    assert left.labels == ["verb", "direction"] and not left.skipped
    both = [e for e in left.examples if e.text == "He left the car in the left lane."]
    assert [(e.label, e.start) for e in both] == [("verb", 3), ("direction", 23)]
    light = read_labels(EXAMPLES / "light-pos.jsonl")
    assert light.labels == ["noun", "verb", "adjective"]
    assert light.skipped == [{"line": 49, "target": "light", "reason": "target 'light' not found as a whole word"}]
    light.check_counts()


@pytest.mark.parametrize("line, message", [
    ("not json", ":1: not a JSON object"),
    ('{"text": "a b", "label": "x"}', ":1: 'target' must be a non-empty string"),
    ('{"text": "turn left", "target": "left", "label": "x", "start": 0, "end": 4}', ":1: text[0:4] is 'turn', not the target 'left'"),
    ('{"text": "turn left", "target": "left", "label": "x", "start": 5}', ":1: give both 'start' and 'end'"),
    ('{"text": "turn left", "target": "left", "label": "x", "start": 5, "end": 99}', ":1: 'start' and 'end' must be character offsets"),
])
def test_read_labels_errors_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(UserError, match="bad.jsonl" + message.replace("[", r"\[").replace("(", r"\(")):
        read_labels(path)


def test_too_few_usable_examples_is_an_error(tmp_path):
    path = tmp_path / "few.jsonl"
    lines = [{"text": f"turn left {i}", "target": "left", "label": "a"} for i in range(MIN_PER_LABEL)]
    lines += [{"text": f"they left {i}", "target": "left", "label": "b"} for i in range(MIN_PER_LABEL - 1)]
    lines += [{"text": "nothing here", "target": "left", "label": "b"}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    labelled = read_labels(path)
    with pytest.raises(UserError, match=r"few.jsonl: too few usable examples per label \('b' has 9; 10 needed; 1 skipped\)"):
        labelled.check_counts()


# ----------------------------------------------------------------------------- on the tiny site

def _probe_cli(site, *args, cache=None):
    """``tfvis-site probe SITE ARGS --cache-dir CACHE`` in this process (imports are paid once):
    an object with returncode, stdout and stderr like a finished subprocess."""
    import contextlib
    import io
    import types

    from tfvis_site.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["probe", str(site), *args, "--cache-dir", str(cache or site.parent / "cache")])
        except SystemExit as e:  # argparse's own errors
            code = e.code
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def test_probe_labels_json_shape_and_skips(tiny_site):
    proc = _probe_cli(tiny_site, "--labels", str(TINY_LABELS), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert list(result) == ["labels", "n", "majority_f1", "layers"]
    assert result["labels"] == ["cat", "dog"] and result["n"] == 24
    assert [list(r) for r in result["layers"]] == [["layer", "factor", "f1", "f1_raw"]] * 3  # tiny BERT: 2 blocks + embeddings
    assert [r["layer"] for r in result["layers"]] == [0, 1, 2]
    # the word itself is the label: the embedding layer's raw state separates it perfectly
    assert result["layers"][0]["f1_raw"] == 1.0
    assert 0.0 <= result["majority_f1"] < 1.0
    assert "tiny-animals.jsonl:25: skipped: target 'dog' not found as a whole word" in proc.stderr
    # the table form
    table = _probe_cli(tiny_site, "--labels", str(TINY_LABELS), "--layer", "1")
    assert table.returncode == 0 and "Concept probe" in table.stdout and "F1 raw state" in table.stdout


def test_probe_labels_activations_are_the_sites_activations(tiny_site):
    """The strip plot's numbers: factor c's activation on example i's target at layer l is what
    ``probe --factor c`` reports for that token (one-token targets: the mean is the token)."""
    from tfvis_site.probe import probe, probe_labels

    cache = StageCache(tiny_site.parent / "cache")
    result, levels = probe_labels(tiny_site, TINY_LABELS, cache, None)
    assert len(levels) > max(result.factors)
    assert result.activations.shape == (len(result.factors), 3, result.n)
    checked = 0
    factors = result.factors[:2]
    for i in (0, 5):  # "The cat sat on the mat." / "A dog ran in the park, ..."
        example = result.examples[i]
        for j, c in enumerate(factors):
            shown = probe(tiny_site, example["text"], cache, c, 0, None)
            tokens = shown["tokens"]
            position = next(p for p, t in enumerate(tokens) if t == example["target"])
            np.testing.assert_allclose(result.activations[j, :, i], np.array(shown["activations"])[position], atol=1e-3)
            checked += 1
    assert factors and checked == 2 * len(factors)
    # the swapped halves both chose a factor, and scores are F1s
    for row in result.layers:
        assert len(row["folds"]) == 2 and all(0.0 <= f["f1"] <= 1.0 for f in row["folds"])
        assert row["f1"] == pytest.approx(np.mean([f["f1"] for f in row["folds"]]))


def test_probe_labels_bad_input_exits_2(tiny_site, tmp_path):
    few = tmp_path / "few.jsonl"
    few.write_text("".join(json.dumps({"text": "The cat sat.", "target": "cat", "label": lab}) + "\n" for lab in ["a"] * 12 + ["b"] * 3))
    for args, message in [
        (["--labels", str(few)], "few.jsonl: too few usable examples per label ('b' has 3; 10 needed)"),
        (["--labels", str(tmp_path / "none.jsonl")], "none.jsonl: labelled examples file does not exist"),
        (["some text", "--labels", str(TINY_LABELS)], "takes no text argument"),
        (["--labels", str(TINY_LABELS), "--layer", "7"], "--layer 7: the site has layers 0..2"),
        (["--top", "2"], "give the text to probe"),
        (["--factor", "99999"], "--factor 99999: the site has factors 0.."),  # without text: its output tokens
    ]:
        proc = _probe_cli(tiny_site, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr
        assert proc.stderr.count("\n") == 1


# ----------------------------------------------------------------------------- in the build

def build_concepts_site(tiny_checkpoints, tiny_site, out: Path, probes: str) -> tuple[int, Path]:
    """A site of the tiny BERT on the tiny_site corpus with ``probes`` ([[probes]] TOML) in its
    config; the tiny site's cache makes every stage but the concepts a cache hit."""
    from tfvis_site.cli import main

    config = out.parent / f"{out.name}.toml"
    config.write_text(probes)
    code = main(["build", "--quiet", "--preset", "quick", "--config", str(config), "--model", str(tiny_checkpoints["bert"]),
                 "--corpus", str(tiny_site.parent / "corpus.txt"), "--out", str(out), "--cache-dir", str(tiny_site.parent / "cache")])
    return code, out


@pytest.fixture(scope="session")
def tiny_concepts_site(tiny_checkpoints, tiny_site, tmp_path_factory):
    """The tiny site with two concept probes: the 2-label animals set and a 3-label copy of it
    (built once per test run: test_concepts_browser.py imports this fixture too)."""
    def make(root):
        three = root / "three.jsonl"
        places = ["park", "river", "mill", "school", "sea", "Moon", "capital", "first time", "fox", "children", HOSTILE]
        extra = [json.dumps({"text": f"The mat by the {w} was old.", "target": "mat", "label": "mat"}) for w in places]
        three.write_text(TINY_LABELS.read_text() + "\n".join(extra) + "\n")
        probes = f'[[probes]]\nname = "cat or dog <b>"\nfile = "{TINY_LABELS}"\n\n[[probes]]\nname = "three"\nfile = "three.jsonl"\n'
        code, _ = build_concepts_site(tiny_checkpoints, tiny_site, root / "site", probes)
        assert code == 0

    return shared_folder(tmp_path_factory, "concepts-site", make) / "site"


def test_build_writes_the_concepts_data(tiny_concepts_site, tiny_site):
    manifest = json.loads((model_folder(tiny_concepts_site) / "data/manifest.json").read_text())
    probes = manifest["concepts"]["probes"]
    assert [p["name"] for p in probes] == ["cat or dog <b>", "three"]
    assert probes[0]["file"] == "tiny-animals.jsonl" and probes[1]["file"] == "three.jsonl"  # names, not local paths
    assert [p["file"] for p in manifest["build"]["probes"]] == ["tiny-animals.jsonl", "three.jsonl"]
    assert probes[1]["labels"] == ["cat", "dog", "mat"] and probes[1]["metric"] == "macro-F1 over 3 labels"
    for p in probes:
        ex = read_data_table(model_folder(tiny_concepts_site) / "data", p["files"]["examples"]).to_pydict()
        assert len(ex["text"]) == p["n"]
        assert all(t[s:e].lower() == g.lower() for t, s, e, g in zip(ex["text"], ex["start"], ex["end"], ex["target"]))
        spec = manifest["files"][p["files"]["activations"]]
        assert spec["shape"] == [len(p["factors"]), manifest["layers"], p["n"]]
        assert (model_folder(tiny_concepts_site) / "data" / (p["files"]["activations"] + ".js")).exists()
        assert {r["factor"] for r in p["layers"]} - {None} == set(p["factors"])
    # the probe's numbers are the CLI's numbers
    cli = json.loads(_probe_cli(tiny_concepts_site, "--labels", str(TINY_LABELS), "--json", cache=tiny_site.parent / "cache").stdout)
    assert [(r["factor"], r["f1"], r["f1_raw"]) for r in cli["layers"]] == [(r["factor"], r["f1"], r["f1_raw"]) for r in probes[0]["layers"]]
    # the page is in the navigation of every page, only on a site with probes
    assert 'href="concepts.html"' in (model_folder(tiny_concepts_site) / "factors.html").read_text()
    assert (model_folder(tiny_concepts_site) / "concepts.html").exists()
    assert not (model_folder(tiny_site) / "concepts.html").exists() and "concepts.html" not in (model_folder(tiny_site) / "index.html").read_text()


def test_build_concepts_stage_is_cached_and_bad_probes_fail_early(tiny_checkpoints, tiny_site, tiny_concepts_site, tmp_path):
    from tfvis_site.run.config import resolve

    # same factors + same file content: the concepts stage is a cache hit (the file may move)
    moved = tmp_path / "moved.jsonl"
    moved.write_bytes(TINY_LABELS.read_bytes())
    cache = StageCache(tiny_site.parent / "cache")
    config = resolve(None, {"preset": "quick", "model": tiny_checkpoints["bert"], "corpus": tiny_site.parent / "corpus.txt",
                            "out": tmp_path / "again", "cache_dir": cache.root, "probes": [{"name": "x", "file": str(moved)}]})
    from tfvis_site.run.build import build
    from tfvis_site.progress import Reporter

    result = build(config, Reporter.silent())
    assert result.cache_hits["concepts"] and result.cache_hits["factors"]
    # a bad labels file: exit 2 before any stage runs, no site written
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n')
    code, out = build_concepts_site(tiny_checkpoints, tiny_site, tmp_path / "bad-site", f'[[probes]]\nname = "b"\nfile = "{bad}"\n')
    assert code == 2 and not out.exists()
    with pytest.raises(UserError, match="unknown key 'path'"):
        resolve(None, {"probes": [{"name": "x", "path": "y"}]})


def test_probes_need_a_text_model(tmp_path, capsys):
    """A site of vision models only: the build stops at once (no stage, no site) naming the file."""
    from tiny import save_tiny_image_checkpoint

    from tfvis_site.cli import main

    model = save_tiny_image_checkpoint("vit", tmp_path / "vit")
    config = tmp_path / "site.toml"
    config.write_text(f'[[probes]]\nname = "animals"\nfile = "{TINY_LABELS}"\n')
    code = main(["build", "--quiet", "--preset", "quick", "--config", str(config), "--model", str(model), "--corpus", "synthetic",
                 "--out", str(tmp_path / "site"), "--cache-dir", str(tmp_path / "cache")])
    assert code == 2 and not (tmp_path / "site").exists() and not (tmp_path / "cache" / "extract").exists()
    assert "tiny-animals.jsonl: concept probes need a text model" in capsys.readouterr().err
