"""End-to-end fuzzing of `python -m tfvis_site build` on the tiny BERT: random corpora the
readers accept (every kind of unicode, through every stage) and random config files. Each run
ends in a built site (exit 0) or one line on stderr with exit 2, never a traceback; the output
folder, which holds an earlier site, is then either replaced by a complete site or untouched.
Few examples (each build takes seconds): the readers' own fuzz tests try thousands."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz import ANY_TEXT, utf8_clean
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_fuzz_config import toml_documents

from tfvis_site.site import layout

GENERATOR = Path(__file__).resolve().parent.parent / "generator"


def old_site(out: Path) -> dict[str, bytes]:
    """A stand-in for an earlier build in ``out``: what a failed build must leave as it is."""
    files = {"index.html": b"<p>the previous site</p>", f"{layout.MODELS}/old/{layout.MANIFEST}": b"{}"}
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    return files


def contents(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def build(root: Path, model: Path, *args: str) -> None:
    out = root / "site"
    before = old_site(out)
    command = [sys.executable, "-m", "tfvis_site", "build", "--quiet", "--preset", "quick", "--lime", "none", "--no-live-probe",
               "--model", str(model), "--out", str(out), "--cache-dir", str(root.parent / "cache"), *args]
    env = {**os.environ, "PYTHONPATH": str(GENERATOR), "OMP_WAIT_POLICY": "PASSIVE"}
    run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=root)
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode in (0, 2), run.stderr
    if run.returncode == 2:
        assert len(run.stderr.strip().splitlines()) == 1 and run.stderr.startswith("tfvis-site: error: "), run.stderr
        assert contents(out) == before  # never a half-written site
    else:
        assert layout.site_models(out) and (out / "index.html").is_file() and "old" not in layout.site_models(out)
        assert all(line.startswith("warning: ") for line in run.stderr.splitlines()), run.stderr
    assert [p.name for p in root.iterdir() if "building" in p.name or "-old-" in p.name] == []  # no staging folder left


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A fresh folder per example; one stage cache for them all (the tiny model's stages repeat)."""
    base = tmp_path_factory.mktemp("cli-fuzz")
    counter = iter(range(10**6))

    def fresh() -> Path:
        folder = base / f"run{next(counter)}"
        folder.mkdir()
        return folder

    return fresh


@settings(max_examples=3)
@given(texts=st.lists(ANY_TEXT.filter(utf8_clean), min_size=1, max_size=12))
@example(texts=[" \u2028 ", "\t"])  # blank texts only: the corpus stage refuses it after the staging folder exists
def test_cli_on_a_random_corpus(tiny_checkpoints, runs, texts):
    root = runs()
    (root / "corpus.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    build(root, tiny_checkpoints["bert"], "--corpus", str(root / "corpus.jsonl"))


@settings(max_examples=6)
@given(document=toml_documents())
def test_cli_on_a_random_config(tiny_checkpoints, runs, document):
    root = runs()
    (root / "corpus.txt").write_text("The cat sat on the mat.\nA dog ran in the park.\nWater boils at 100 degrees.\n")
    (root / "site.toml").write_text(document, errors="surrogatepass")
    build(root, tiny_checkpoints["bert"], "--corpus", str(root / "corpus.txt"), "--config", str(root / "site.toml"))
