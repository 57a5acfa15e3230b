"""Fuzzing the TOML config reader: valid TOML with wrong types, unknown keys and values out of
range in every table, and invalid TOML (random text and bytes). resolve() and the analysis
configs built from it accept a config whose every value the build can use, or refuse it in
one line naming the file or the table; docs/testing.md lists what these found."""

import dataclasses
import json
import math
import tempfile
import typing
from pathlib import Path

import numpy as np
import pytest
import torch
from fuzz import ANY_TEXT, read_or_refuse
from hypothesis import given, settings
from hypothesis import strategies as st

from tfvis_site.analysis.attention import AttentionConfig
from tfvis_site.analysis.circuits.config import CircuitsConfig
from tfvis_site.analysis.explanations.config import ExplanationConfig
from tfvis_site.analysis.factors import FactorConfig
from tfvis_site.analysis.factors.lime import LimeConfig
from tfvis_site.errors import UserError
from tfvis_site.analysis.explanations.llm_config import URL_KEY, ExplainerConfig, split_table
from tfvis_site.run.build import analysis_config, explainer_config
from tfvis_site.run.config import BuildConfig, resolve

SECTIONS = {"factors": FactorConfig, "lime": LimeConfig, "attention": AttentionConfig, "circuits": CircuitsConfig, "explanations": ExplanationConfig}
TOP_KEYS = [f.name for f in dataclasses.fields(BuildConfig) if f.name not in ("user_set", *SECTIONS)]
EXPLAINER_KEYS = [URL_KEY] + [f"{URL_KEY}_{f.name}" for f in dataclasses.fields(ExplainerConfig) if f.name != "url"]


def toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string (a lone surrogate escape makes it invalid TOML: fine too)


NUMBERS = (st.integers(-(2**63), 2**63 - 1) | st.sampled_from([0, 1, -1, 2**32, 2**32 - 1]) | st.floats(allow_nan=True, allow_infinity=True)
           .map(lambda x: "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf") if math.isinf(x) else repr(x)))
#: Strings an option of a few known values or a size meets: the right ones, near misses, codecs.
CHOICES = st.sampled_from(["cpu", "cuda", "auto", "quick", "default", "full", "float16", "local", "ray", "utf-8", "latin-1", "utf-7",
                           "base64", "rot13", "hex", "topk-sae", "pca", "umap", "all", "none", "on"])
SIZES = st.builds(str.__add__, st.text("0123456789.", min_size=1, max_size=12) | st.integers(1, 400).map(lambda n: "9" * n),
                  st.sampled_from(["", "K", "M", "G", "T", "GiB", "X"]))
SCALARS = NUMBERS.map(str) | st.booleans().map(lambda b: "true" if b else "false") | (ANY_TEXT | CHOICES | SIZES).map(toml_string)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3).map(lambda xs: f"[{', '.join(xs)}]")
                      | st.dictionaries(st.sampled_from(["model", "corpus", "title", "slug", "name", "file", "x"]), inner, max_size=3)
                      .map(lambda d: "{" + ", ".join(f"{json.dumps(k)} = {v}" for k, v in d.items()) + "}"), max_leaves=6)


def keys_of(names: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(names) | ANY_TEXT.filter(lambda k: k.isprintable() and k.isascii())


@st.composite
def toml_documents(draw) -> str:
    """Top-level options and analysis tables, with the options' own names and a few others."""
    lines = [f"{json.dumps(k)} = {draw(VALUES)}" for k in draw(st.lists(keys_of(TOP_KEYS), max_size=5, unique=True))]
    for section in draw(st.lists(st.sampled_from(sorted(SECTIONS)), max_size=2, unique=True)):
        lines.append(f"[{section}]")
        fields = [f.name for f in dataclasses.fields(SECTIONS[section])] + (EXPLAINER_KEYS if section == "explanations" else [])
        lines += [f"{json.dumps(k)} = {draw(VALUES)}" for k in draw(st.lists(keys_of(fields), max_size=4, unique=True))]
    return "\n".join(lines) + "\n"


def fits(hint, value) -> bool:
    """Whether ``value`` has the type the build expects of a field annotated ``hint``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    if origin is tuple:
        return isinstance(value, tuple) and all(fits(args[0], v) for v in value)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType")):
        return any(fits(a, value) for a in args)
    if hint is type(None):
        return value is None
    if dataclasses.is_dataclass(hint):
        return isinstance(value, hint) and all(fits(h, getattr(value, n)) for n, h in typing.get_type_hints(hint).items())
    return isinstance(value, hint)


def assert_usable(config: BuildConfig) -> None:
    """What the build does with the options first: seeds, decodes, opens paths, sizes."""
    np.random.default_rng(config.seed), np.random.RandomState(config.seed), torch.Generator().manual_seed(config.seed)
    b"text".decode(config.encoding)
    for path in (config.model, config.corpus, config.out, config.cache_dir, *(m.get(k) for m in config.models for k in ("model", "corpus"))):
        if path is not None:
            Path(path).exists()  # a NUL in a path raises ValueError here
    for name in ("n_sentences", "max_tokens", "n_images", "batch_size", "shard_tokens", "workers"):
        assert fits(int, getattr(config, name)) and getattr(config, name) >= 0, name
    rules, llm = split_table(config.explanations)  # as model_run reads the tables
    tables = {**{section: config.__dict__[section] for section in SECTIONS}, "explanations": rules}
    for section, cls in SECTIONS.items():
        assert_typed(analysis_config(cls, section, config, tables[section]), tables[section], section)
    assert_typed(explainer_config(llm, config), {"url" if k == URL_KEY else k.removeprefix(URL_KEY + "_"): v for k, v in llm.items()}, "explanations")


def assert_typed(stage, table: dict, section: str) -> None:
    bad = {n: getattr(stage, n) for n, h in typing.get_type_hints(type(stage)).items() if n in table and not fits(h, getattr(stage, n))}
    assert not bad, f"[{section}] accepted values of the wrong type: {bad}"


def check_document(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "site.toml"
        path.write_bytes(data)
        try:
            config = resolve(path, {})
            assert_usable(config)
        except UserError as e:
            message = str(e)
            assert len(message.splitlines()) == 1, message
            assert str(path) in message or message.startswith(tuple(f"[{s}]" for s in SECTIONS)), message


@settings(max_examples=200)
@given(document=toml_documents())
def test_random_valid_toml(document):
    check_document(document.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("key", TOP_KEYS)
@settings(max_examples=30)
@given(value=SCALARS | (CHOICES | SIZES).map(toml_string))
def test_one_option_of_any_value(key, value):
    """One option at a time, so that every one meets every kind of value."""
    check_document(f"{key} = {value}\n".encode("utf-8", "surrogatepass"))


@settings(max_examples=300)
@given(section=st.sampled_from(sorted(SECTIONS)), data=st.data())
def test_one_analysis_option_of_any_value(section, data):
    key = data.draw(st.sampled_from([f.name for f in dataclasses.fields(SECTIONS[section])] + (EXPLAINER_KEYS if section == "explanations" else [])))
    check_document(f"[{section}]\n{key} = {data.draw(VALUES)}\n".encode("utf-8", "surrogatepass"))


@settings(max_examples=150)
@given(data=st.binary(max_size=300) | ANY_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_random_invalid_toml(data):
    check_document(data)
