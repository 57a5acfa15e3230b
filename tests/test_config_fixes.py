"""Config files the fuzzer (tests/test_fuzz_config.py) found wanting: each is refused in one
line naming the file or the table, before any work."""

import pytest

from tfvis_site.errors import UserError
from tfvis_site.run.config import resolve


def refusal(tmp_path, body: bytes | str) -> str:
    path = tmp_path / "site.toml"
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    with pytest.raises(UserError) as err:
        resolve(path, {})
    return str(err.value).replace(str(path), "FILE")


def test_a_config_file_that_is_not_utf8(tmp_path):
    assert refusal(tmp_path, b'title = "caf\xe9"\n') == "FILE: invalid TOML (not UTF-8: byte 0xe9 at offset 12)"


def test_an_attention_option_out_of_range_names_its_table(tmp_path):
    """AttentionConfig raises its own UserErrors; the other tables' errors already said where."""
    from tfvis_site.analysis.attention import AttentionConfig
    from tfvis_site.run.build import analysis_config

    path = tmp_path / "site.toml"
    path.write_text("[attention]\nn_sentences = 0\n")
    with pytest.raises(UserError) as err:
        analysis_config(AttentionConfig, "attention", resolve(path, {}))
    assert str(err.value) == "[attention]: attention n_sentences must be at least 1"


@pytest.mark.parametrize("table, message", [
    ("[circuits]\nenabled = []", "[circuits]: 'enabled' must be true or false, got []"),
    ("[factors]\nsae_k = \"8\"", "[factors]: 'sae_k' must be an integer, got '8'"),
    ("[factors]\nalpha = nan", "[factors]: 'alpha' must be a finite number, got nan"),
    ("[factors]\nlevel_low_max_layer = 1.5", "[factors]: 'level_low_max_layer' must be an integer, got 1.5"),
    ("[lime]\nmask_token = 3", "[lime]: 'mask_token' must be a string, got 3"),
    ("[attention]\ndims = [2, \"3\"]", "[attention]: 'dims' must be a list (an integer each), got [2, '3']"),
    ("[attention]\nlabel_rule = {sink = \"x\"}", "[attention]: 'sink' must be a finite number, got 'x'"),
])
def test_an_analysis_option_of_the_wrong_type_is_refused(tmp_path, table, message):
    """Found by tests/test_fuzz_config.py: __post_init__ checks ranges, not types, so such values
    passed (a string sae_k until the factors stage, deep in the build) or failed with
    TypeError's words ("'<' not supported between instances of 'str' and 'int')."""
    from tfvis_site.analysis.attention import AttentionConfig
    from tfvis_site.analysis.circuits.config import CircuitsConfig
    from tfvis_site.analysis.factors import FactorConfig
    from tfvis_site.analysis.factors.lime import LimeConfig
    from tfvis_site.run.build import analysis_config

    path = tmp_path / "site.toml"
    path.write_text(table + "\n")
    section = table[1:table.index("]")]
    cls = {"factors": FactorConfig, "lime": LimeConfig, "attention": AttentionConfig, "circuits": CircuitsConfig}[section]
    with pytest.raises(UserError) as err:
        analysis_config(cls, section, resolve(path, {}))
    assert str(err.value) == message


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_numpy_cannot_take_is_refused(tmp_path, seed):
    """Found by tests/test_fuzz_config.py: numpy refuses negative seeds (default_rng) and seeds
    of 2**32 and more (RandomState, which UMAP uses): the build failed in its factors stage."""
    assert refusal(tmp_path, f"seed = {seed}\n") == f"FILE: option 'seed' must be between 0 and 4294967295, got {seed}"


@pytest.mark.parametrize("value, problem", [
    ("\\u0000", "holds a NUL character"),
    ("x" * 300, "is too long for a path ("),  # the length of the path joined to the config file's folder
])
@pytest.mark.parametrize("key", ["model", "corpus", "out", "cache_dir"])
def test_a_path_no_file_system_takes_is_refused(tmp_path, key, value, problem):
    """Found by tests/test_fuzz_config.py: the first exists() of the build raised ValueError
    (a NUL) or OSError (ENAMETOOLONG): an internal error."""
    assert refusal(tmp_path, f'{key} = "{value}"\n').startswith(f"FILE: option {key!r} {problem}")


@pytest.mark.parametrize("codec", ["base64", "hex", "rot13", "zlib"])
def test_a_codec_that_is_no_text_encoding_is_refused(tmp_path, codec):
    """Found by tests/test_fuzz_config.py: codecs.lookup knows these, so --encoding took them, and
    reading the corpus raised LookupError ("is not a text encoding"): an internal error."""
    assert refusal(tmp_path, f'encoding = "{codec}"\n') == f"FILE: unknown text encoding {codec!r} (e.g. utf-8, latin-1, cp1252, utf-16)"


@pytest.mark.parametrize("size", ["9" * 400 + "G", 2**62])
def test_a_memory_budget_beyond_any_machine_is_refused(tmp_path, size):
    """Found by tests/test_fuzz_config.py: 400 digits made float() infinite and int() raised
    OverflowError (an internal error); a budget past int64 has no use either."""
    value = f'"{size}"' if isinstance(size, str) else size
    assert refusal(tmp_path, f"memory_budget = {value}\n") == f"FILE: option 'memory_budget': {size!r} is too large (at most 1048576T)"


@pytest.mark.parametrize("option", ["sae_k = 0", "sae_k = -1", "n_train = -1", "sae_lr = -1.0", "sae_lr = 0.0"])
def test_factor_options_out_of_range_are_refused(tmp_path, option):
    """Found by fuzzing [factors] end to end: each was accepted and failed in the factors stage
    ("step must be nonzero", "negative dimensions are not allowed", "Invalid learning rate")."""
    from tfvis_site.analysis.factors import FactorConfig
    from tfvis_site.run.build import analysis_config

    path = tmp_path / "site.toml"
    path.write_text(f"[factors]\n{option}\n")
    with pytest.raises(UserError, match=r"^\[factors\]: factors: sae_k must be >= 1, n_train >= 0 and sae_lr > 0, not "):
        analysis_config(FactorConfig, "factors", resolve(path, {}))


@pytest.mark.parametrize("option", ["hist_bins = 0", "hist_bins = -1", "hist_min = 0.0", "hist_min = -1.0", "hist_max = 0.0", "hist_min = 100.0"])
def test_factor_histogram_options_out_of_range_are_refused(tmp_path, option):
    """Found by fuzzing [factors] end to end: the activation histogram's log-spaced bins failed in
    factor inference ("math domain error", "index out of range in self") or divided by zero."""
    from tfvis_site.analysis.factors import FactorConfig
    from tfvis_site.run.build import analysis_config

    path = tmp_path / "site.toml"
    path.write_text(f"[factors]\n{option}\n")
    with pytest.raises(UserError, match=r"^\[factors\]: factors: hist_bins must be >= 1 and 0 < hist_min < hist_max, not "):
        analysis_config(FactorConfig, "factors", resolve(path, {}))


@pytest.mark.parametrize("size", [0, -1])
def test_a_factor_chunk_size_below_one_is_refused(tmp_path, size):
    """Found by fuzzing [factors] end to end: chunk_size = 0 divided by zero writing the factor
    bundle, after every analysis had run (a negative size is no size either)."""
    from tfvis_site.analysis.factors import FactorConfig
    from tfvis_site.run.build import analysis_config

    path = tmp_path / "site.toml"
    path.write_text(f"[factors]\nchunk_size = {size}\n")
    with pytest.raises(UserError, match=rf"^\[factors\]: factors: chunk_size must be >= 1, not {size}$"):
        analysis_config(FactorConfig, "factors", resolve(path, {}))


@pytest.mark.parametrize("option", ["trust_k = 0", "max_pairs = 0", "max_pairs = -1", "trust_sample = -1"])
def test_attention_options_out_of_range_are_refused(tmp_path, option):
    """Found by fuzzing [attention] end to end: each failed in the attention stage ("float
    division by zero", "must be real number, not NoneType", "negative dimensions")."""
    from tfvis_site.analysis.attention import AttentionConfig
    from tfvis_site.run.build import analysis_config

    path = tmp_path / "site.toml"
    path.write_text(f"[attention]\n{option}\n")
    with pytest.raises(UserError, match=r"^\[attention\]: attention trust_k and max_pairs must be at least 1 and trust_sample at least 0"):
        analysis_config(AttentionConfig, "attention", resolve(path, {}))


@pytest.mark.parametrize("option, message", [
    ("explainer = 1", "[explanations]: explainer: 'url' must be a string, got 1"),
    ("explainer_batch = \"4\"", "[explanations]: explainer_batch: 'batch' must be an integer, got '4'"),
    ("explainer_timeout = inf", "[explanations]: explainer_timeout: 'timeout' must be a finite number, got inf"),
])
def test_an_explainer_option_of_the_wrong_type_is_refused(tmp_path, option, message):
    """Found by tests/test_fuzz_config.py: explainer = 1 failed in ExplainerConfig's own check
    (AttributeError: 'int' object has no attribute 'startswith'), explainer = [] was accepted."""
    from tfvis_site.analysis.explanations.llm_config import split_table
    from tfvis_site.run.build import explainer_config

    path = tmp_path / "site.toml"
    path.write_text(f"[explanations]\n{option}\n")
    config = resolve(path, {})
    with pytest.raises(UserError) as err:
        explainer_config(split_table(config.explanations)[1], config)
    assert str(err.value) == message
