"""End-to-end builds on tiny random models, the CLI's error handling, caching and determinism."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sites import assert_ships_once, model_folder, read_manifest

from tfvis_site.site.bundles import read_data_table
from tfvis_site.cli import main

TEXTS = [
    "The cat sat on the mat.",
    "A dog ran in the park, and the children laughed.",
    "Paris is the capital of France.",
    "She turned left at the river.",
    "Water boils at 100 degrees Celsius.",
    "The quick brown fox jumps over the lazy dog!",
    "Music, art and science were taught at the school.",
    "<script>alert('x')</script> is not a sentence <b onmouseover=alert(1)>bold</b>.",
]


@pytest.fixture()
def corpus_txt(tmp_path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(TEXTS + ["", "The cat sat on the mat."]) + "\n")
    return path


def run_build(tmp_path, *args) -> int:
    return main(["build", "--quiet", "--cache-dir", str(tmp_path / "cache"), *map(str, args)])


def site_digest(site: Path) -> dict[str, str]:
    return {str(p.relative_to(site)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(site.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("kind", ["bert", "gpt2"])
def test_build_tiny_model_end_to_end(tiny_checkpoints, corpus_txt, tmp_path, kind):
    site = tmp_path / "site"
    assert run_build(tmp_path, "--model", tiny_checkpoints[kind], "--corpus", corpus_txt, "--out", site, "--preset", "quick") == 0
    out = model_folder(site)  # models/<slug>/: the model's pages and data/
    assert out == site / "models" / kind  # the slug: the checkpoint folder's name
    manifest = read_manifest(site)
    assert manifest["model"]["slug"] == kind and manifest["model"]["family"] == f"{kind} {'decoder' if kind == 'gpt2' else 'encoder'}"
    assert manifest["model"]["model_type"] == kind
    assert manifest["model"]["is_causal"] == (kind == "gpt2")
    assert manifest["corpus"]["sentences"] == len(TEXTS)  # blank line and duplicate dropped
    assert manifest["corpus"]["duplicates_dropped"] == 1
    tokens = read_data_table(out / "data", "tokens.parquet")
    assert tokens.num_rows == manifest["corpus"]["tokens"]
    # every listed file ships once, as its .js twin, with the recorded size and hash; every data
    # file on disk is listed (derived ones such as the word index included)
    assert_ships_once(out / "data", manifest["files"])
    assert {"live/model.onnx", "live/tokenizer.json", "live/encoder.bin"} <= set(manifest["files"])
    deflated = {name for name, entry in manifest["files"].items() if entry.get("deflate")}
    assert deflated and deflated != set(manifest["files"])  # both kinds of twin in a real site
    assert manifest["factors"]["search"]["file"] in manifest["files"]
    html = (out / "index.html").read_text()
    assert manifest["model"]["name"] in html and "Tokens per text" in html
    assert "<script>alert" not in html
    assert (out / "tokens.html").exists() and (site / "assets/js/index.js").exists() and not (out / "assets").exists()
    assert (site / "assets/vendor/hyparquet.min.js").exists() and not (site / "assets/vendor/node_modules").exists()
    assert 'href="../../assets/css/site.css"' in html  # the shared assets, relative (file:// works)
    gallery = (site / "index.html").read_text()  # a single-model site has the gallery too, with one card
    assert gallery.count('class="card model-card"') == 1 and f'href="models/{kind}/index.html"' in gallery


def test_rebuild_reuses_cache_and_is_byte_identical(tiny_checkpoints, corpus_txt, tmp_path, capsys):
    out = tmp_path / "site"
    args = ("--model", tiny_checkpoints["bert"], "--corpus", corpus_txt, "--out", out, "--preset", "quick")
    assert run_build(tmp_path, *args) == 0
    first = site_digest(out)
    capsys.readouterr()
    assert run_build(tmp_path, *args) == 0
    assert site_digest(out) == first
    assert run_build(tmp_path, *args, "--no-cache") == 0  # recomputed from scratch: same bytes
    assert site_digest(out) == first
    entries = list((tmp_path / "cache" / "extract").iterdir())
    assert len([e for e in entries if not e.name.startswith(".")]) == 1  # second build added nothing
    assert run_build(tmp_path, *args, "--seed", "3", "--n-sentences", "4") == 0
    assert site_digest(out) != first


def test_failed_build_leaves_previous_site(tiny_checkpoints, corpus_txt, tmp_path, capsys):
    out = tmp_path / "site"
    assert run_build(tmp_path, "--model", tiny_checkpoints["bert"], "--corpus", corpus_txt, "--out", out, "--preset", "quick") == 0
    before = site_digest(out)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    assert run_build(tmp_path, "--model", tiny_checkpoints["bert"], "--corpus", empty, "--out", out) == 2
    assert site_digest(out) == before
    assert not [p for p in tmp_path.iterdir() if "building" in p.name]


@pytest.mark.parametrize(
    "setup, args, message",
    [
        (None, ["--corpus", "missing.txt"], "missing.txt: corpus file does not exist"),
        ("empty.txt", ["--corpus", "empty.txt"], "empty.txt: corpus is empty"),
        ("c.csv", ["--corpus", "c.csv"], "unsupported corpus format '.csv'"),
        ("bad.jsonl", ["--corpus", "bad.jsonl"], "bad.jsonl:2: invalid JSON"),
        ("notext.parquet", ["--corpus", "notext.parquet"], "no 'text' column"),
        ("notmodel", ["--model", "notmodel"], "notmodel: not a Hugging Face checkpoint (no config.json)"),
        ("cfg.toml", ["--config", "cfg.toml"], "cfg.toml: unknown option 'colour'"),
        ("badtype.toml", ["--config", "badtype.toml"], "option 'seed' must be an integer"),
        ("occupied", ["--out", "occupied"], "occupied: output folder is not empty and holds no tfvis site"),
    ],
)
def test_bad_input_gives_one_line_error_and_exit_2(tmp_path, monkeypatch, capsys, setup, args, message):
    monkeypatch.chdir(tmp_path)
    if setup == "empty.txt":
        Path(setup).write_text("\n\n")
    elif setup == "c.csv":
        Path(setup).write_text("text\nhello\n")
    elif setup == "bad.jsonl":
        Path(setup).write_text('{"text": "fine"}\n{not json}\n')
    elif setup == "notext.parquet":
        pq.write_table(pa.table({"body": ["x"]}), setup)
    elif setup == "notmodel":
        Path(setup).mkdir()
    elif setup == "cfg.toml":
        Path(setup).write_text('colour = "red"\n')
    elif setup == "badtype.toml":
        Path(setup).write_text('seed = "one"\n')
    elif setup == "occupied":
        Path(setup).mkdir()
        Path(setup, "precious.txt").write_text("keep me")
    code = run_build(tmp_path, *args)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and len(err.splitlines()) == 1
    if setup == "occupied":
        assert Path("occupied/precious.txt").read_text() == "keep me"


def test_config_file_and_flag_precedence(tmp_path):
    from tfvis_site.run.config import resolve

    cfg = tmp_path / "site.toml"
    cfg.write_text('preset = "quick"\nseed = 5\ncorpus = "texts.txt"\nmax_tokens = 20\n')
    resolved = resolve(cfg, {"seed": 7})
    assert resolved.seed == 7  # flag beats file
    assert resolved.max_tokens == 20  # file beats preset
    assert resolved.n_sentences == 200  # preset default
    assert resolved.corpus == tmp_path / "texts.txt"  # relative to the config file


def test_console_script_unknown_option_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "tfvis_site", "build", "--colour", "red"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "unrecognized arguments: --colour" in proc.stderr and "Traceback" not in proc.stderr
    helped = subprocess.run([sys.executable, "-m", "tfvis_site", "build", "--help"], capture_output=True, text=True)
    for flag in ("--model", "--corpus", "--config", "--out", "--seed", "--device", "--preset"):
        assert flag in helped.stdout


def test_attention_sample_sentences_carry_their_token_browser_id(tiny_checkpoints, corpus_txt, tmp_path):
    """The attention sample is a separate extraction of a subset: each of its sentences records
    the sentence_id of the same text in data/sentences.parquet, which the pages link to."""
    config = tmp_path / "tfvis.toml"
    config.write_text("[attention]\nn_sentences = 3\n")
    out = tmp_path / "site"
    assert run_build(tmp_path, "--model", tiny_checkpoints["bert"], "--corpus", corpus_txt, "--out", out, "--preset", "quick", "--config", config) == 0
    data = model_folder(out) / "data"
    sample = read_data_table(data, "attention/sentences.parquet").to_pydict()
    browser = read_data_table(data, "sentences.parquet").to_pydict()
    assert len(sample["text"]) == 3 < len(browser["text"])
    assert sample["sentence_id"] != [0, 1, 2]  # a real subset, not the first rows
    for text, n_tokens, sid in zip(sample["text"], sample["n_tokens"], sample["sentence_id"]):
        assert browser["sentence_id"][sid] == sid
        assert (browser["text"][sid], browser["n_tokens"][sid]) == (text, n_tokens)
