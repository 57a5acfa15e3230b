import pytest
from transformers import BertConfig, GPT2Config, LlamaConfig

from tfvis_site.run.budget import REFERENCE_BLOCK_PARAMS, ModelCost, scaled_sizes

MINILM = BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)
SMOLLM2 = LlamaConfig(hidden_size=576, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3, intermediate_size=1536, hidden_act="silu")
DEFAULT = {"n_sentences": 4000, "lime_max_sentences": 400, "attention_n_sentences": 200, "sae_n_steps": 3000, "splice_sequences": 24, "ov_sentences": 48}


def test_block_parameters_match_the_models_own_count():
    """The config-only estimate equals the parameters of the real blocks (biases and norms aside)."""
    from transformers import AutoModel

    for config in (BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128), LlamaConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=96, vocab_size=100)):
        model = AutoModel.from_config(config)
        weights = sum(p.numel() for name, p in model.named_parameters() if p.dim() == 2 and "embed" not in name and "pooler" not in name)
        assert ModelCost.from_config(config).block_params == weights


def test_the_reference_model_keeps_its_presets_and_bigger_models_shrink():
    minilm = ModelCost.from_config(MINILM)
    assert minilm.block_params == REFERENCE_BLOCK_PARAMS and minilm.heads == 72
    assert scaled_sizes(minilm, DEFAULT) == DEFAULT
    smol = ModelCost.from_config(SMOLLM2)
    assert smol.heads == 270 and smol.forward_ratio == pytest.approx(10.0, rel=0.01) and smol.width_ratio == 1.5
    sizes = scaled_sizes(smol, DEFAULT)
    # the splice runs (L + 1) / 2 = 15.5 passes a sequence to MiniLM's 3.5; an ablation runs one
    # block (2x MiniLM's parameters) per head, of 3.75x as many heads
    assert smol.splice_ratio == pytest.approx(smol.forward_ratio * 31 / 7) and smol.ablation_ratio == pytest.approx(3.75 * 2, rel=0.01)
    assert sizes == {"n_sentences": round(4000 / smol.forward_ratio**0.5), "lime_max_sentences": round(400 / smol.forward_ratio),
                     "attention_n_sentences": round(200 / 3.75), "sae_n_steps": round(3000 / 1.5**0.5),
                     "splice_sequences": 8, "ov_sentences": 16}  # 24 / 6.7 and 48 / 7.5 are under the floors 8 and 16


def test_small_models_are_never_scaled_up_and_zero_means_all():
    tiny = ModelCost.from_config(GPT2Config(n_embd=32, n_layer=2, n_head=2))
    assert scaled_sizes(tiny, DEFAULT) == DEFAULT
    assert scaled_sizes(ModelCost.from_config(SMOLLM2), {"n_sentences": 0})["n_sentences"] == 0


def test_floors_keep_every_stage_meaningful():
    huge = ModelCost(block_params=REFERENCE_BLOCK_PARAMS * 1e6, heads=72 * 10_000, width=384 * 1000)
    assert scaled_sizes(huge, {"n_sentences": 200, "lime_max_sentences": 40, "attention_n_sentences": 40, "sae_n_steps": 3000,
                               "splice_sequences": 24, "ov_sentences": 48}) == {
        "n_sentences": 50, "lime_max_sentences": 4, "attention_n_sentences": 12, "sae_n_steps": 200, "splice_sequences": 8, "ov_sentences": 16}
    assert scaled_sizes(huge, {"attention_n_sentences": 5}) == {"attention_n_sentences": 5}  # below the floor already: kept


class _Checkpoint:
    """What fit_to_budget reads of a model source: its name and transformers config."""

    def __init__(self, name, config):
        self.name, self.config = name, config

    def hf_config(self):
        return self.config


def test_the_pipeline_shrinks_only_what_the_user_left_to_the_preset(tmp_path):
    from tfvis_site.analysis.attention import AttentionConfig
    from tfvis_site.analysis.circuits.config import CircuitsConfig
    from tfvis_site.analysis.explanations.config import ExplanationConfig
    from tfvis_site.analysis.explanations.llm_config import ExplainerConfig
    from tfvis_site.run.config import resolve
    from tfvis_site.analysis.factors import FactorConfig
    from tfvis_site.analysis.factors.lime import LimeConfig
    from tfvis_site.run.budget import fit_to_budget
    from tfvis_site.run.build import analysis_config
    from tfvis_site.run.config import StageConfigs
    from tfvis_site.progress import Reporter

    def sizes(config_text, flags):
        toml = tmp_path / "site.toml"
        toml.write_text(config_text)
        config = resolve(toml, flags)
        factors, lime, attention, circuits = (analysis_config(cls, section, config) for cls, section in
                                              ((FactorConfig, "factors"), (LimeConfig, "lime"), (AttentionConfig, "attention"), (CircuitsConfig, "circuits")))
        config, fitted = fit_to_budget(config, _Checkpoint("big", SMOLLM2), StageConfigs(factors, lime, attention, circuits, ExplanationConfig(), ExplainerConfig()), Reporter.silent())
        return (config.n_sentences, fitted.lime.max_sentences, fitted.attention.n_sentences, fitted.factors.sae_n_steps,
                fitted.circuits.splice_sequences, fitted.circuits.ov_sentences)

    assert sizes("", {}) == (1265, 22, 53, 2449, 8, 16)  # LIME: 225 sentences for MiniLM; splice 24, OV 48
    assert sizes("n_sentences = 4000\n[lime]\nmax_sentences = 400\n[factors]\nsae_n_steps = 3000\n[circuits]\nsplice_sequences = 24\n", {}) == (4000, 400, 53, 3000, 24, 16)
    assert sizes("", {"n_sentences": 300}) == (300, 22, 53, 2449, 8, 16)
    assert sizes("[attention]\nn_sentences = 50\n", {"preset": "quick"}) == (63, 4, 50, 204, 8, 16)
    # the paper's dictionary learner has no SAE steps to shrink
    assert sizes("[factors]\nmethod = \"fista-dl\"\n", {})[3] == 3000


def test_image_presets_size_the_circuit_samples_by_tokens_and_keep_what_the_user_set(tmp_path):
    """An image is ~9 MiniLM sentences of tokens: the default OV ablations get 6 images (48
    sentences' tokens) and the splice 8; a [circuits] value in the config file stays."""
    from tfvis_site.analysis.attention import AttentionConfig
    from tfvis_site.analysis.circuits.config import CircuitsConfig
    from tfvis_site.analysis.explanations.config import ExplanationConfig
    from tfvis_site.analysis.explanations.llm_config import ExplainerConfig
    from tfvis_site.analysis.factors import FactorConfig
    from tfvis_site.analysis.factors.lime import LimeConfig
    from tfvis_site.modality import IMAGE
    from tfvis_site.progress import Reporter
    from tfvis_site.run.build import analysis_config
    from tfvis_site.run.config import StageConfigs, resolve

    def circuits(config_text, preset):
        toml = tmp_path / "site.toml"
        toml.write_text(config_text)
        config = resolve(toml, {"preset": preset})
        configs = StageConfigs(*(analysis_config(cls, section, config) for cls, section in
                                 ((FactorConfig, "factors"), (LimeConfig, "lime"), (AttentionConfig, "attention"), (CircuitsConfig, "circuits"))),
                               ExplanationConfig(), ExplainerConfig())
        return IMAGE.fit_sizes(config, None, configs, Reporter.silent())[1].circuits

    default = circuits("", "default")
    assert (default.ov_sentences, default.splice_sequences) == (6, 8) and CircuitsConfig().ov_sentences == 48
    kept = circuits("[circuits]\nov_sentences = 48\n", "default")
    assert (kept.ov_sentences, kept.splice_sequences) == (48, 8)
    quick = circuits("", "quick")
    assert (quick.ov_sentences, quick.splice_sequences) == (16, 8)  # the quick preset's own
