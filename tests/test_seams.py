"""The two seams of a build (docs/architecture.md): the modality registry and the stage runner."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tfvis_site.cache import StageCache
from tfvis_site.errors import UserError
from tfvis_site.modality import IMAGE, MODALITIES, TEXT, corpus_owner, load_corpus, modality_for, modality_named, site_kind
from tfvis_site.progress import Reporter
from tfvis_site.run.runner import ModelRun, Stage, run_stages

VIT_CONFIG = {"model_type": "vit", "patch_size": 16, "image_size": 224, "hidden_size": 192}
BERT_CONFIG = {"model_type": "bert", "vocab_size": 30522, "hidden_size": 384}


def test_a_model_config_chooses_its_modality_once():
    assert modality_for(VIT_CONFIG) is IMAGE and modality_for(BERT_CONFIG) is TEXT
    assert IMAGE.info_fields(VIT_CONFIG) == {"modality": "image", "patch_size": 16} and TEXT.info_fields(BERT_CONFIG) == {}
    assert modality_named("image") is IMAGE and list(MODALITIES)[-1] == "text"  # the fallback is asked last
    with pytest.raises(ValueError, match="unknown modality 'audio'"):
        modality_named("audio")


def test_site_kind_reads_the_manifest():
    assert site_kind({"modality": "image"}) == "image" and site_kind({"modality": "text"}) == "text"
    assert site_kind({}) == "text"  # manifests from before the field


def test_a_corpus_of_the_other_kind_is_a_one_line_error(tmp_path):
    assert corpus_owner(tmp_path) is IMAGE and corpus_owner("synthetic") is IMAGE and corpus_owner("notes.txt") is TEXT
    with pytest.raises(UserError, match="notes.txt: a text corpus, but the model is a vision transformer"):
        load_corpus(IMAGE, "notes.txt", None, Reporter.silent())
    with pytest.raises(UserError, match="synthetic: an image corpus, but the model is a text model"):
        load_corpus(TEXT, "synthetic", None, Reporter.silent())


def _run(tmp_path, **results) -> ModelRun:
    model = SimpleNamespace(modality=TEXT)
    return ModelRun(config=None, model=model, configs=None, cache=StageCache(tmp_path), reporter=Reporter.silent(), executor=None,
                    memory=None, out=tmp_path / "site", slug="m", results=dict(results))


def test_the_runner_caches_logs_times_and_chains_stages(tmp_path):
    built = []

    def build_numbers(run, item, folder):
        built.append("numbers")
        (folder / "n.txt").write_text("1 2 3")

    numbers = Stage("numbers", key=lambda run, item: {"v": 1}, build=build_numbers,
                    load=lambda run, item, folder: [int(x) for x in (folder / "n.txt").read_text().split()],
                    log=lambda run, item, result, cached: f"numbers: {len(result)}" + (" (cached)" if cached else ""))
    # not cached (key None): its result is what build returns
    total = Stage("total", key=lambda run, item: None, build=lambda run, item, folder: sum(run.results["numbers"]), timing="sums")
    first = run_stages([numbers, total], _run(tmp_path))
    assert first.results == {"numbers": [1, 2, 3], "total": 6} and first.keys == {"numbers": {"v": 1}, "total": None}
    assert set(first.timer.timings) == {"numbers", "sums"} and first.reporter.messages == ["numbers: 3"]
    again = run_stages([numbers, total], _run(tmp_path))
    assert built == ["numbers"] and again.reporter.messages == ["numbers: 3 (cached)"] and again.cache.hits["numbers"]


def test_stages_left_out_run_per_item_or_do_not_apply(tmp_path):
    def fail(run, item, folder):
        raise RuntimeError("cannot trace")

    stages = [
        Stage("never", key=lambda run, item: None, build=fail, applies=lambda run: False),
        Stage("skipped", key=lambda run, item: None, build=fail, skip=lambda run: "too big", label="the probe"),
        Stage("fragile", key=lambda run, item: {"v": 1}, build=fail, tolerate=lambda run, e: f"failed ({e})"),
        Stage("per-item", key=lambda run, item: {"item": item}, items=lambda run: ["a", "b"],
              build=lambda run, item, folder: (folder / "x").write_text(item), load=lambda run, item, folder: (folder / "x").read_text()),
    ]
    run = run_stages(stages, _run(tmp_path))
    assert run.left_out == {"skipped": "too big", "fragile": "failed (cannot trace)"}
    assert run.reporter.messages == ["the probe: left out: too big", f"warning: {run.slug}: fragile: left out: failed (cannot trace)"]
    assert run.reporter.warnings == [f"{run.slug}: fragile: left out: failed (cannot trace)"]  # a failure warns; a skip only logs
    assert run.results == {"per-item": ["a", "b"]} and run.keys["per-item"] == [{"item": "a"}, {"item": "b"}]
    with pytest.raises(RuntimeError, match="cannot trace"):  # a failure no stage tolerates stops the build
        run_stages([Stage("strict", key=lambda run, item: {"v": 2}, build=fail)], _run(tmp_path))
