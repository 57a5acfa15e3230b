"""No traceback reaches a user: a bug prints one line with the path of a log holding the
traceback (exit 1); bad input stays exit 2, an interrupt exit 130."""

import re
import tempfile
from pathlib import Path

import pytest
from tiny import TRAIN_TEXT

import tfvis_site.run.stages
from tfvis_site.cli import main
from tfvis_site.errors import UserError

INTERNAL = re.compile(r"^tfvis-site: internal error: (\w+): (.*) \(details: (.+\.log)\)$")


@pytest.fixture
def log_dir(tmp_path, monkeypatch) -> Path:
    """Where the error logs go ($TMPDIR/tfvis-site), redirected into the test's own folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return tmp_path / "tmp" / "tfvis-site"


def build_args(tmp_path, model) -> list[str]:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(TRAIN_TEXT) + "\n")
    return ["build", "--quiet", "--preset", "quick", "--lime", "none", "--model", str(model), "--corpus", str(corpus), "--out", str(tmp_path / "site"), "--cache-dir", str(tmp_path / "cache")]


def one_line_internal_error(stderr: str) -> tuple[str, str, Path]:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    match = INTERNAL.match(lines[0])
    assert match, lines[0]
    return match.group(1), match.group(2), Path(match.group(3))


def test_corrupted_cache_entry_is_one_line_and_a_log(tiny_checkpoints, tmp_path, log_dir, capsys):
    """A real failure deep inside a stage: the cached activation store of a finished build is
    overwritten with garbage, so the rebuild fails reading it. The first build's site stays."""
    args = build_args(tmp_path, tiny_checkpoints["bert"])
    assert main(args) == 0
    index = (tmp_path / "site").rglob("index.html").__next__()
    before = index.read_bytes()
    for meta in (tmp_path / "cache" / "extract").rglob("meta.json"):
        meta.write_text("{not json")
    capsys.readouterr()
    assert main(args) == 1
    kind, message, log = one_line_internal_error(capsys.readouterr().err)
    assert log.parent == log_dir and log.is_file()
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and f"{kind}: {message}" in text
    assert " ".join(args) in text  # the command line, for a bug report
    assert index.read_bytes() == before


@pytest.mark.parametrize("raised, code, stderr", [
    (ZeroDivisionError("a bug\nwith a second line"), 1, None),
    (KeyboardInterrupt(), 130, "tfvis-site: interrupted"),
    (UserError("corpus.txt: something the user can fix"), 2, "tfvis-site: error: corpus.txt: something the user can fix"),
])
def test_exit_codes_of_a_failing_stage(tiny_checkpoints, tmp_path, log_dir, capsys, monkeypatch, raised, code, stderr):
    def failing_stage(*args, **kwargs):
        raise raised

    monkeypatch.setattr(tfvis_site.run.stages, "load_corpus", failing_stage)
    assert main(build_args(tmp_path, tiny_checkpoints["bert"])) == code
    err = capsys.readouterr().err
    if stderr is not None:
        assert err.strip() == stderr and not log_dir.exists()
        return
    kind, message, log = one_line_internal_error(err)
    assert (kind, message) == ("ZeroDivisionError", "a bug")
    assert "ZeroDivisionError: a bug\nwith a second line" in log.read_text()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_device_cuda_without_cuda_stops_before_any_work(tiny_checkpoints, tmp_path, capsys):
    """The refusal comes first: no stage ran (empty cache), no site, one line naming the cause."""
    from tfvis_site.model.load import resolve_device

    assert main([*build_args(tmp_path, tiny_checkpoints["bert"]), "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tfvis-site: error: --device cuda: ") and "--device cpu or --device auto" in err[0]
    assert not (tmp_path / "site").exists()
    assert not (tmp_path / "cache").exists()  # not even the stage cache was opened
    assert resolve_device("auto") == "cpu"  # auto falls back to the CPU here
