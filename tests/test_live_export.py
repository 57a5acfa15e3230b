"""The live probe's export (tfvis_site/live): the site's files alone, run as the browser runs them
(tests/live_reference.py), give what `tfvis-site probe --factor F --json` prints within 0.02 and
the PyTorch model's attention weights within 1e-3, on tiny BERT, GPT-2 and Llama (GQA) sites."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from live_reference import assert_activations_match, assert_attentions_match, probe_json, reference, torch_attentions
from sites import model_folder, read_manifest
from tiny import TRAIN_TEXT

from tfvis_site.site.bundles import read_data_file
from tfvis_site.cli import main, make_parser
from tfvis_site.errors import UserError

#: Texts the sites are not built on; the last is longer than max_tokens (truncated).
NEW_TEXTS = [
    "The old mill by the river was quiet.",
    "<b>Paris</b> & Berlin: capitals?",
    " ".join(TRAIN_TEXT),
]
MAX_TOKENS = 24


def _build(tmp_path_factory, kind, checkpoint, *extra):
    root = tmp_path_factory.mktemp(f"live-{kind}")
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(TRAIN_TEXT * 2 + [f"Sentence number {i} about the cat and the dog." for i in range(24)]) + "\n")
    site = root / "site"
    code = main(["build", "--quiet", "--preset", "quick", "--model", str(checkpoint), "--corpus", str(corpus), "--out", str(site),
                 "--cache-dir", str(root / "cache"), "--max-tokens", str(MAX_TOKENS), *extra])
    assert code == 0
    return site


@pytest.fixture(scope="module")
def live_sites(tiny_checkpoints, tmp_path_factory):
    """A tiny site with the live probe per architecture."""
    return {kind: _build(tmp_path_factory, kind, tiny_checkpoints[kind]) for kind in ("bert", "gpt2", "llama")}


@pytest.mark.parametrize("kind", ["bert", "gpt2", "llama"])
def test_reference_from_site_files_matches_probe_and_torch(live_sites, tiny_checkpoints, kind):
    site = live_sites[kind]
    ref = reference(site)
    live = ref.live
    assert live["n_layers"] == 2 and live["causal"] == (kind != "bert") and live["max_tokens"] == MAX_TOKENS
    for text in NEW_TEXTS:
        acts, attentions = ref.run(text)
        expected_all = probe_json(site, text, 0, site.parent / "cache")
        assert ref.tokens(text) == expected_all["tokens"]  # the tokenizer from tokenizer.json alone
        factor = int(np.abs(acts).max(axis=(0, 1)).argmax())  # the factor that responds most: not a trivial all-zero match
        assert acts[:, :, factor].max() > 0
        assert_activations_match(acts[:, :, factor], probe_json(site, text, factor, site.parent / "cache"))
        assert_activations_match(acts[:, :, 0], expected_all, require_active=False)  # factor 0 whatever it does
        assert_attentions_match(attentions, torch_attentions(tiny_checkpoints[kind], text, MAX_TOKENS))
    assert len(ref.token_ids(NEW_TEXTS[-1])) == MAX_TOKENS  # truncated like the site's texts


@pytest.mark.parametrize("kind", ["bert", "llama"])
def test_live_files_manifest_and_graph(live_sites, kind):
    import onnx

    site = live_sites[kind]
    manifest = read_manifest(site)
    live, files, data = manifest["live"], manifest["files"], model_folder(site) / "data"
    names = [live["model"], live["tokenizer"], live["encoder"]["file"]]
    for name in names:  # shipped once, as the twin: listed with the decoded size and hash, no binary on disk
        entry = files[name]
        assert not (data / name).exists()
        assert entry["twin_bytes"] == (data / f"{name}.js").stat().st_size
        assert len(read_data_file(data, name, files)) == entry["bytes"]
    assert live["bytes"] == sum(files[n]["twin_bytes"] for n in names)
    graph = onnx.load_from_string(read_data_file(data, live["model"], files)).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in graph.output] == ["hidden_states", "attentions"]
    assert graph.input[0].type.tensor_type.shape.dim[1].dim_param  # T is symbolic
    assert live["weights"] in ("int8", "fp16", "fp32") and live["weights"] == files[live["model"]]["weights"]
    acc = live["accuracy"]
    assert acc["relative"] <= acc["tolerance"] == 0.02
    assert list(acc["candidates"]) == ["int8", "fp16", "fp32"][: list(acc["candidates"]).index(live["weights"]) + 1]  # smallest first, up to the chosen
    assert acc["candidates"][live["weights"]]["relative"] == acc["relative"]
    tokenizer = json.loads(read_data_file(data, live["tokenizer"], files))
    assert tokenizer["truncation"] is None and live["tokenizer_kind"] == ("wordpiece" if kind == "bert" else "bpe")
    if kind == "bert":
        assert len(live["special_tokens"]["prefix"]) == 1 and len(live["special_tokens"]["suffix"]) == 1
    enc = live["encoder"]
    assert enc["method"] == "topk-sae" and enc["arrays"]["W_enc"]["shape"] == [32, enc["n_factors"]]
    # one token and the longest input run too (T is dynamic)
    ref = reference(site)
    for ids in ([5], list(range(5, 5 + MAX_TOKENS))):
        t = np.asarray([ids], dtype=np.int64)
        hidden, att = ref.session.run(None, {"input_ids": t, "attention_mask": np.ones_like(t)})
        assert hidden.shape == (3, len(ids), 32) and att.shape == (2, 4, len(ids), len(ids))
        assert np.allclose(att.sum(-1), 1, atol=1e-5)


def test_no_live_probe_is_not_in_other_stages_keys(tiny_checkpoints, tmp_path):
    from tfvis_site import api

    corpus = [*TRAIN_TEXT, "One more text about the river."]
    common = dict(preset="quick", out=tmp_path / "site", cache_dir=tmp_path / "cache", max_tokens=MAX_TOKENS)
    folder = str(tiny_checkpoints["bert"])
    off = api.build(folder, corpus, live_probe=False, **common)
    assert "live" not in off.manifest and "live_unavailable" not in off.manifest
    assert not any(name.startswith("live/") for name in off.manifest["files"])
    assert "live" not in off.timings
    on = api.build(folder, corpus, **common)  # toggling it on redoes no other stage
    assert {stage for stage, hit in on.cache_hits.items() if not hit} == {"live-export", "live-choice"}
    assert on.manifest["live"]["weights"]
    again = api.build(folder, corpus, **common)
    assert all(again.cache_hits.values())


def test_vision_site_says_why_it_has_no_live_probe(tiny_image_site):
    manifest = read_manifest(tiny_image_site)
    assert "live" not in manifest and "text models" in manifest["live_unavailable"]


def test_live_probe_option_values(tmp_path):
    from tfvis_site.run.config import resolve

    assert resolve(None, {}).live_probe == "auto"
    assert resolve(None, {"live_probe": False}).live_probe == "off"
    toml = tmp_path / "site.toml"
    toml.write_text("live_probe = true\n")
    assert resolve(toml, {}).live_probe == "on"
    assert resolve(toml, {"live_probe": "off"}).live_probe == "off"
    toml.write_text('live_probe = "sometimes"\n')
    with pytest.raises(UserError, match="live_probe"):
        resolve(toml, {})
    parse = make_parser().parse_args
    assert parse(["build", "--no-live-probe"]).live_probe == "off" and parse(["build", "--live-probe"]).live_probe == "on"
    assert parse(["build"]).live_probe is None  # not given: the config file's or the default


def test_unavailable_reasons():
    from tfvis_site.analysis.factors import FactorConfig
    from tfvis_site.analysis.live.stage import AUTO_MAX_PARAMS, unavailable

    from tfvis_site.modality import IMAGE, TEXT

    def store(n_params):
        return SimpleNamespace(info=SimpleNamespace(n_params=n_params, name="m"))

    sae = SimpleNamespace(config=FactorConfig(), sae={"W_enc": None})
    fista = SimpleNamespace(config=FactorConfig(method="fista-dl"), sae=None)
    model, text = "SmolLM2-135M-Instruct", TEXT.live_probe_unavailable
    assert unavailable("auto", model, store(22_700_000), sae, text) is None
    big = unavailable("auto", model, store(134_500_000), sae, text)
    assert "SmolLM2-135M-Instruct has 134 M parameters" in big and "--live-probe" in big
    assert unavailable("on", model, store(AUTO_MAX_PARAMS * 3), sae, text) is None  # forced
    assert "FISTA" in unavailable("auto", model, store(1000), fista, text)
    assert "text models" in unavailable("auto", model, store(1000), sae, IMAGE.live_probe_unavailable)


def test_int8_weights_error_bound():
    from tfvis_site.analysis.live.compress import quantize_int8

    rng = np.random.default_rng(0)
    w = rng.normal(size=(128, 48)).astype(np.float32) * np.linspace(0.01, 3, 48, dtype=np.float32)  # columns of very different size
    w[5, 7] = 40.0  # an outlier: only its own block's scale grows
    q, scale = quantize_int8(w, axis=1, block=64)  # MatMul B (K, N): blocks of 64 rows per column
    assert q.dtype == np.int8 and q.shape == (2, 64, 48) and scale.shape == (2, 1, 48)
    err = np.abs((q * scale).reshape(w.shape) - w)
    assert (err.reshape(q.shape) <= scale / 2 + 1e-6).all()  # half a step of the block's own scale
    assert scale[0, 0, 7] == pytest.approx(40 / 127) and scale[1, 0, 7] < 1
    q, scale = quantize_int8(w.T, axis=0, block=64)  # an embedding table (rows = tokens)
    assert q.shape == (48, 2, 64) and np.abs((q * scale).reshape(w.T.shape) - w.T).max() <= scale.max() / 2 + 1e-6
    q, scale = quantize_int8(w[:100], axis=1, block=64)  # 64 does not divide 100: one scale per column
    assert scale.shape == (1, 1, 48)


def test_encoder_pack_and_numpy_encode_match_factor_result(live_sites):
    """The encoder file reproduces FactorResult.encode on the store's own hidden states."""
    from tfvis_site.cache import StageCache
    from tfvis_site.analysis.live.encoder import encode, encoder_arrays, pack, unpack
    from tfvis_site.probe import site_factors

    site = live_sites["bert"]
    _, factors = site_factors(site, StageCache(site.parent / "cache"))
    payload, layout = pack(encoder_arrays(factors))
    arrays = unpack(payload, layout)
    assert all(spec["offset"] % 4 == 0 for spec in layout.values())
    x = np.random.default_rng(1).normal(size=(40, 32)).astype(np.float32) * factors.scale[1] + factors.mean[1]
    assert np.allclose(encode(arrays, factors.config.sae_k, x, 1), factors.encode(x, 1), atol=1e-5)


def _failing_export(*args, **kwargs):
    raise RuntimeError("cannot trace this graph")


def test_a_failed_export_is_a_warning_the_manifest_and_the_overview_keep(tiny_checkpoints, tmp_path, monkeypatch, capsys):
    """--quiet too: the failure reaches stderr as one warning line, the site is built without the
    probe, and its manifest and overview page say why."""
    from tfvis_site.analysis.live import stage
    from tfvis_site.cli import main

    monkeypatch.setattr(stage, "export_onnx", _failing_export)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join([*TRAIN_TEXT, "One more text about the river."]) + "\n", encoding="utf-8")
    site = tmp_path / "site"
    args = ["build", "--quiet", "--preset", "quick", "--model", str(tiny_checkpoints["bert"]), "--corpus", str(corpus), "--out", str(site),
            "--cache-dir", str(tmp_path / "cache"), "--max-tokens", str(MAX_TOKENS)]
    assert main(args) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "live probe: left out: the ONNX export failed (RuntimeError: cannot trace this graph)" in warnings[0]
    manifest = read_manifest(site)
    assert "live" not in manifest and manifest["live_unavailable"] == "the ONNX export failed (RuntimeError: cannot trace this graph)"
    overview = next(site.glob("models/*/index.html")).read_text(encoding="utf-8")
    assert "No live probe for this model: the ONNX export failed (RuntimeError: cannot trace this graph)" in overview


def test_a_failed_export_stops_a_build_that_asked_for_the_probe(tiny_checkpoints, tmp_path, monkeypatch, capsys):
    from tfvis_site.analysis.live import stage
    from tfvis_site.cli import main

    monkeypatch.setattr(stage, "export_onnx", _failing_export)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(TRAIN_TEXT) + "\n", encoding="utf-8")
    site = tmp_path / "site"
    args = ["build", "--quiet", "--preset", "quick", "--live-probe", "--model", str(tiny_checkpoints["bert"]), "--corpus", str(corpus),
            "--out", str(site), "--cache-dir", str(tmp_path / "cache"), "--max-tokens", str(MAX_TOKENS)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["tfvis-site: error: --live-probe: the ONNX export failed (RuntimeError: cannot trace this graph); "
                   "build without --live-probe to leave the live probe out"]
    assert not site.exists()  # no half-written site
