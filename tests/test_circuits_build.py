"""The circuit stages in a build (issue 22): a tiny encoder, decoder and ViT site carry every
head's QK / OV pairs, the factors' output tokens, the splice per layer and a decoder's induction
scores, with values equal to direct computations from the checkpoint's own modules; ``probe
--head`` prints the site's rows; a model type the circuits cannot read is left out with the
reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sites import model_folder, read_manifest
from test_circuits_qk import direct_scores

from tfvis_site.analysis.factors import FactorResult
from tfvis_site.cache import StageCache
from tfvis_site.probe import read_site_record
from tfvis_site.site.bundles import read_data_table


def site_factors(site: Path) -> FactorResult:
    """The site's dictionary, from the cache its fixture built it with (site/../cache)."""
    return FactorResult.load(Path(read_site_record(StageCache(site.parent / "cache"), site)["factors"]))


def table(site: Path, name: str) -> list[dict]:
    return read_data_table(model_folder(site) / "data", name).to_pylist()


def probe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tfvis_site", "probe", *args], capture_output=True, text=True, timeout=300)


def checkpoint(site: Path) -> Path:
    """The checkpoint folder the site was built from (its build record says)."""
    return Path(read_site_record(StageCache(site.parent / "cache"), site)["model"])


@pytest.mark.parametrize(("fixture", "kind"), [("tiny_site", "bert"), ("tiny_decoder_site", "llama")])
def test_every_head_has_pairs_whose_weight_scores_are_the_models_own(fixture, kind, request):
    from transformers import AutoModel

    site = request.getfixturevalue(fixture)
    manifest = read_manifest(site)
    n_layers, n_heads = manifest["attention"]["model"]["n_layers"], manifest["attention"]["model"]["n_heads"]
    circuits = manifest["circuits"]
    heads = table(site, circuits["files"]["heads"])
    assert [(h["layer"], h["head"]) for h in heads] == [(l, h) for l in range(n_layers) for h in range(n_heads)]
    assert circuits["rope"] == (kind == "llama") and circuits["summary"]["heads"] == n_layers * n_heads
    qk, ov = table(site, circuits["files"]["qk"]), table(site, circuits["files"]["ov"])
    model = AutoModel.from_pretrained(checkpoint(site), attn_implementation="eager").eval()
    result = site_factors(site)
    for layer in range(n_layers):
        for head in range(n_heads):
            by_weights = [r for r in qk if (r["layer"], r["head"], r["ranked_by"]) == (layer, head, "weights")]
            assert len(by_weights) == circuits["config"]["top"]
            S = direct_scores(kind, model, result, layer, head)
            got = np.array([r["weight_score"] for r in by_weights])
            expected = np.array([S[r["query_factor"], r["key_factor"]] for r in by_weights])
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
            # ranked: no candidate pair of the active factors scores above the list's last
            active = np.flatnonzero(result.active[:, layer] > 0)
            assert S[np.ix_(active, active)].max() <= got.max() + 1e-4 and (np.diff(got) <= 1e-6).all()
            top_ov = [r for r in ov if (r["layer"], r["head"], r["kind"]) == (layer, head, "top")]
            random_ov = [r for r in ov if (r["layer"], r["head"], r["kind"]) == (layer, head, "random")]
            assert len(top_ov) == circuits["config"]["top"] and len(random_ov) == circuits["config"]["ov_random"]
            assert all(r["ablation_drop"] is None or np.isfinite(r["ablation_drop"]) for r in top_ov + random_ov)
            assert all((r["n_sentences"] > 0) == (r["ablation_drop"] is not None) for r in top_ov + random_ov)  # random pairs too


def test_a_decoders_induction_scores_and_output_tokens(tiny_decoder_site):
    """Induction: TransformerLens' definition computed here with a plain loop over the model's
    attention on the same repeated tokens; output tokens: the factor's direction through the
    final RMSNorm's gain (unless at the last, already normed, state) and the checkpoint's own
    (untied) lm_head."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tfvis_site.analysis.circuits.induction import repeated_tokens

    manifest = read_manifest(tiny_decoder_site)
    cfg = manifest["circuits"]["config"]
    lm = AutoModelForCausalLM.from_pretrained(checkpoint(tiny_decoder_site), attn_implementation="eager").eval()
    model = lm.model
    assert not torch.equal(lm.lm_head.weight, model.embed_tokens.weight)  # untied: the head is what counts
    tok = AutoTokenizer.from_pretrained(checkpoint(tiny_decoder_site))
    bos = tok.bos_token_id
    tokens = repeated_tokens(model.config.vocab_size, cfg["induction_seq_len"], cfg["induction_batch"], cfg["seed"], bos, tok.all_special_ids)
    L = cfg["induction_seq_len"]
    with torch.inference_mode():
        att = model(input_ids=torch.from_numpy(tokens), output_attentions=True).attentions
    p = 0 if bos is None else 1
    for head in manifest["attention"]["heads"]:
        a = att[head["layer"]][:, head["head"]].double().numpy()
        expected = np.mean([a[b, p + L + k, p + k + 1] for b in range(len(tokens)) for k in range(L)])
        assert head["induction_score"] == pytest.approx(expected, abs=1e-6)
        assert (head["label"] == "induction") == (expected >= cfg["induction_threshold"])

    out = manifest["factors"]["output_tokens"]
    assert out["kind"] == "unembedding"
    rows = table(tiny_decoder_site, out["file"])
    result = site_factors(tiny_decoder_site)
    n_states = manifest["layers"]
    W_U = lm.lm_head.weight.detach().double().numpy()
    gain = model.norm.weight.detach().double().numpy()
    for factor in np.flatnonzero(result.active.sum(1) > 0)[:5]:
        mine = [r for r in rows if r["factor"] == factor]
        layer = mine[0]["layer"]
        assert layer == int(result.peak_layer[factor])
        direction = result.scale[layer].astype(np.float64) * result.components[factor]
        logits = (direction if layer == n_states - 1 else gain * direction) @ W_U.T
        promoted = [r["token_id"] for r in mine if r["side"] == "promoted"]
        suppressed = [r["token_id"] for r in mine if r["side"] == "suppressed"]
        assert promoted == list(np.argsort(-logits, kind="stable")[: out["k"]])
        assert suppressed == list(np.argsort(logits, kind="stable")[: out["k"]])
        assert [r["token"] for r in mine if r["side"] == "promoted"] == tok.convert_ids_to_tokens(promoted)


@pytest.mark.parametrize(("fixture", "key"), [("tiny_site", "final_cosine"), ("tiny_decoder_site", "recovered"), ("tiny_image_site", "final_cosine")])
def test_spliced_quality_per_layer(fixture, key, request):
    manifest = read_manifest(request.getfixturevalue(fixture))
    spliced = manifest["factors"]["quality"]["spliced"]
    assert [s["layer"] for s in spliced] == list(range(manifest["layers"]))
    for s in spliced:
        assert set(s) == {"layer", key, "n_states", "n_unspliced"} and np.isfinite(s[key])
        if key == "final_cosine":
            assert -1 <= s[key] <= 1


def test_a_vit_has_circuits_but_no_output_tokens(tiny_image_site):
    manifest = read_manifest(tiny_image_site)
    assert manifest["circuits"]["family"] == "dinov2"
    out = manifest["factors"]["output_tokens"]
    assert out["kind"] is None and "patch" in out["reason"] and "file" not in out
    assert all("induction_score" not in h for h in manifest["attention"]["heads"])


def test_probe_head_prints_the_sites_rows(tiny_decoder_site):
    manifest = read_manifest(tiny_decoder_site)
    layer, head = 1, 2
    proc = probe(str(tiny_decoder_site), "--head", str(layer), str(head), "--json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert set(got) == {"layer", "head", "label", "induction_score", "qk_pairs", "qk_agreement", "ov_pairs", "ov_ablation"}
    info = manifest["attention"]["heads"][layer * manifest["attention"]["model"]["n_heads"] + head]
    assert (got["layer"], got["head"], got["label"], got["induction_score"]) == (layer, head, info["label"], info["induction_score"])
    files = manifest["circuits"]["files"]
    qk = [r for r in table(tiny_decoder_site, files["qk"]) if (r["layer"], r["head"], r["ranked_by"]) == (layer, head, "weights")]
    assert [(p["query_factor"], p["key_factor"]) for p in got["qk_pairs"]] == [(r["query_factor"], r["key_factor"]) for r in qk]
    assert [p["data_share"] for p in got["qk_pairs"]] == pytest.approx([r["data_share"] for r in qk])
    ov = [r for r in table(tiny_decoder_site, files["ov"]) if (r["layer"], r["head"], r["kind"]) == (layer, head, "top")]
    assert [(p["read_factor"], p["write_factor"]) for p in got["ov_pairs"]] == [(r["read_factor"], r["write_factor"]) for r in ov]
    summary = [r for r in table(tiny_decoder_site, files["heads"]) if (r["layer"], r["head"]) == (layer, head)][0]
    assert got["ov_ablation"]["top_pairs_drop"] == pytest.approx(summary["ov_top_pairs_drop"])
    assert got["qk_agreement"] == pytest.approx(summary["qk_agreement"], nan_ok=True)

    tokens = probe(str(tiny_decoder_site), "--factor", "3", "--json")
    assert tokens.returncode == 0, tokens.stderr
    assert json.loads(tokens.stdout)["output_tokens"]["kind"] == "unembedding"

    bad = probe(str(tiny_decoder_site), "--head", "7", "0")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--head 7 0" in bad.stderr and "Traceback" not in bad.stderr


def test_a_model_type_the_circuits_cannot_read_is_left_out_with_the_reason(tmp_path):
    from tiny import save_tiny_image_checkpoint

    from tfvis_site.cli import main
    from tfvis_site.corpus.images import load_image_corpus

    model = save_tiny_image_checkpoint("vit", tmp_path / "model", image_size=32)
    folder = tmp_path / "images"
    folder.mkdir()
    corpus = load_image_corpus("synthetic", 8, seed=0)
    for image, name in zip(corpus.images, corpus.names):
        image.save(folder / f"{name}.png")
    out = tmp_path / "site"
    assert main(["build", "--quiet", "--preset", "quick", "--model", str(model), "--corpus", str(folder), "--out", str(out),
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    manifest = read_manifest(out)
    assert "circuits" not in manifest and "'vit'" in manifest["circuits_unavailable"]
    assert manifest["factors"]["output_tokens"]["reason"] == manifest["circuits_unavailable"]
