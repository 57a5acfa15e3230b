"""LLM explanations (issue 25), without a model: a scripted endpoint that knows the planted factor
("the token king") scores 1 by detection and by fuzzing, one that answers at random about 0.5;
the excerpts it is asked about are held out from the explanation prompt; the prompts mark the
active tokens; unreadable answers and the client's errors (unreachable, HTTP errors, garbage,
retries on 429 / 5xx) are what docs/factors.md says."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from test_explanations import Planted, synthetic_tokens

from tfvis_site.analysis.explanations import ExplainerConfig, ExplanationConfig, explain_llm
from tfvis_site.analysis.explanations.client import ChatClient, Usage
from tfvis_site.analysis.explanations.prompts import DETECTION_SYSTEM, EXPLAIN_SYSTEM, Excerpt, parse_explanation, parse_labels
from tfvis_site.errors import UserError
from tfvis_site.progress import Reporter

MARKED = re.compile(r"<<(.*?)>>")


def excerpts_of(messages: list[dict]) -> list[str]:
    """The numbered excerpts of a request's user message."""
    return re.findall(r"^\d+\. (.*)$", messages[-1]["content"], flags=re.M)


class Scripted:
    """An endpoint that explains every factor as "the token king" and judges excerpts perfectly
    for that rule (``perfect``) or by a seeded coin; it keeps every request."""

    def __init__(self, perfect: bool, seed: int = 0):
        self.perfect, self.rng, self.usage, self.requests = perfect, np.random.default_rng(seed), Usage(), []

    def complete(self, messages: list[dict], max_tokens: int) -> str:
        self.requests.append(messages)
        self.usage.add(Usage(1, 100, 10))
        texts = excerpts_of(messages)
        if messages[0]["content"] == EXPLAIN_SYSTEM:
            return "Explanation: the token king\n"
        if not self.perfect:
            return json.dumps(self.rng.integers(0, 2, len(texts)).tolist())
        if messages[0]["content"] == DETECTION_SYSTEM:
            said = [int(bool(re.search(r"\bking\b", t, flags=re.I))) for t in texts]
        else:
            said = [int(bool(MARKED.findall(t)) and all(m.strip().lower() == "king" for m in MARKED.findall(t))) for t in texts]
        return f"The answer is {json.dumps(said)}."


@pytest.fixture(scope="module")
def tokens():
    return synthetic_tokens()


def king(tokens) -> np.ndarray:
    texts = np.asarray([t.strip().lower() for t in tokens.column("text").to_pylist()], object)
    return np.stack([texts == "king", texts == "war"], 1)


def run(tokens, asker, folder, **cfg):
    folder.mkdir(parents=True, exist_ok=True)
    cfg = ExplainerConfig(url="http://x", model="scripted", **{"held_out": 20, "batch": 8, **cfg})
    return explain_llm(Planted(king(tokens)), tokens, ExplanationConfig(), cfg, asker, folder, Reporter.silent())


def test_a_perfect_explainer_scores_1_and_a_random_one_about_half(tokens, tmp_path):
    perfect = run(tokens, Scripted(True), tmp_path / "a").table.to_pylist()
    assert [r["factor"] for r in perfect] == [0, 1] and all(r["kind"] == "llm" and r["text"] == "the token king" for r in perfect)
    assert perfect[0]["score"] == 1.0 and perfect[0]["fuzzing_score"] == 1.0
    assert perfect[0]["n_active"] == 20 and perfect[0]["n_scored"] == 40 and perfect[0]["n_fuzzed"] == 20
    assert perfect[1]["score"] < 0.6  # "king" explains factor 1 ("war") about as well as chance (a "war" excerpt may hold "king")
    scores = []
    for seed in range(8):
        rows = run(tokens, Scripted(False, seed), tmp_path / f"r{seed}").table.to_pylist()
        scores += [r["score"] for r in rows] + [r["fuzzing_score"] for r in rows]
    assert all(0 <= s <= 1 for s in scores) and abs(np.mean(scores) - 0.5) < 0.06, np.mean(scores)


def test_scored_excerpts_are_held_out_and_the_prompts_mark_the_active_tokens(tokens, tmp_path):
    asker = Scripted(True)
    run(tokens, asker, tmp_path, factors=1)
    explain, *judged = asker.requests
    shown = excerpts_of(explain)
    assert len(shown) == 20 and all(MARKED.search(t) for t in shown)
    assert all(m.strip().lower() == "king" for t in shown for m in MARKED.findall(t))
    asked = [t for m in judged for t in excerpts_of(m)]
    plain = {MARKED.sub(r"\1", t) for t in shown}
    assert not plain & {MARKED.sub(r"\1", t) for t in asked}  # none of the scored excerpts was in the explanation prompt
    assert all(len(excerpts_of(m)) <= 8 for m in judged) and len(asked) == 40 + 20
    assert "the token king" in judged[0][-1]["content"]


def test_answers_are_kept_per_factor_and_reused(tokens, tmp_path):
    first = Scripted(True)
    a = run(tokens, first, tmp_path)
    assert len(list(tmp_path.glob("factor-*.json"))) == 2
    again = Scripted(True)
    b = run(tokens, again, tmp_path)
    assert not again.requests and b.table.equals(a.table) and b.meta["usage"] == a.meta["usage"]
    other = Scripted(True)
    run(tokens, other, tmp_path, batch=5)  # other prompts: asked again
    assert other.requests


def test_reading_answers():
    assert parse_labels("[1, 0, 1]", 3) == [1, 0, 1] and parse_labels("Sure: [0,0] then [1, 1, 0]", 3) == [1, 1, 0]
    assert parse_labels("1: yes 1\n2: no 0", 2) is None or parse_labels("1\n0", 2) == [1, 0]
    assert parse_labels("I cannot tell", 2) is None and parse_labels("[1, 2]", 2) is None
    assert parse_explanation('\n  Explanation: "the word king"\nmore') == "the word king" and parse_explanation("  \n") == ""
    e = Excerpt((" The", " old", " king", ",", " he"), (False, True, True, False, True))
    assert e.text() == "The old king, he" and e.text(e.active) == "The <<old king>>, <<he>>"


class Endpoint:
    """A local http.server answering each POST with the next of ``replies`` ((status, body))."""

    def __init__(self, replies: list[tuple[int, str]]):
        self.replies, self.seen = list(replies), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                outer.seen.append((self.path, dict(self.headers), json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
                status, body = outer.replies.pop(0)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


OK = json.dumps({"choices": [{"message": {"role": "assistant", "content": "[1]"}}], "usage": {"prompt_tokens": 12, "completion_tokens": 3}})


def test_the_client_retries_then_answers_and_counts_usage():
    endpoint = Endpoint([(503, "{}"), (429, "{}"), (200, OK)])
    waits = []
    try:
        client = ChatClient(endpoint.url, "m", "sk-secret", retries=2, sleep=waits.append)
        assert client.complete([{"role": "user", "content": "hi"}], 5) == "[1]"
    finally:
        endpoint.close()
    assert waits == [1.0, 2.0] and client.usage.to_dict() == {"requests": 1, "prompt_tokens": 12, "completion_tokens": 3}
    path, headers, body = endpoint.seen[-1]
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer sk-secret"
    assert body["model"] == "m" and body["temperature"] == 0 and body["max_tokens"] == 5 and "sk-secret" not in json.dumps(body)


@pytest.mark.parametrize("replies, message", [
    ([(500, "{}")] * 2, r"HTTP 500 .*after 2 attempts"),
    ([(401, "{}")], r"HTTP 401 .*check the API key"),
    ([(200, "<html>not json</html>")], r"not JSON"),
    ([(200, '{"choices": []}')], r"not a chat completion"),
    ([(400, '{"error": {"message": "prompt too long for sk-secret\\nmore"}}')], r"HTTP 400 .*: prompt too long for \*\*\*$"),
])
def test_the_client_says_what_went_wrong_in_one_line(replies, message):
    endpoint = Endpoint(replies)
    try:
        with pytest.raises(UserError, match=message) as e:
            ChatClient(endpoint.url, "m", "sk-secret", retries=1, sleep=lambda s: None).complete([{"role": "user", "content": "hi"}], 5)
    finally:
        endpoint.close()
    assert "\n" not in str(e.value) and "sk-secret" not in str(e.value)


def test_an_unreachable_endpoint_is_one_line():
    with pytest.raises(UserError, match=r"--explainer http://127.0.0.1:9/v1: unreachable .*after 2 attempts"):
        ChatClient("http://user:pw@127.0.0.1:9/v1", "m", retries=1, timeout=2, sleep=lambda s: None).complete([], 5)


def test_the_explainer_options_of_the_config(tmp_path, monkeypatch):
    from tfvis_site.analysis.explanations.llm_config import split_table
    from tfvis_site.run.build import explainer_config
    from tfvis_site.run.config import resolve

    monkeypatch.delenv("TFVIS_EXPLAINER_MODEL", raising=False)
    (tmp_path / "a.toml").write_text('[explanations]\nexplainer = "http://h:1/v1"\nexplainer_model = "m"\nexplainer_batch = 4\nthreshold = 0.75\n')
    config = resolve(tmp_path / "a.toml", {"seed": 3})
    rules, llm = split_table(config.explanations)
    assert rules == {"threshold": 0.75} and explainer_config(llm, config) == ExplainerConfig(url="http://h:1/v1", model="m", batch=4, seed=3)
    assert "url" not in explainer_config(llm, config).cache_key()  # the address never keys the cache
    monkeypatch.setenv("TFVIS_EXPLAINER_MODEL", "from-env")
    assert explainer_config({"explainer": "http://h"}, config).model == "from-env"
    monkeypatch.delenv("TFVIS_EXPLAINER_MODEL")
    for table, message in [({"explainer": "http://h"}, "give the model name"), ({"explainer_nope": 1}, "unknown explainer option"),
                           ({"explainer": "h:1", "explainer_model": "m"}, "http:// or https://"), ({"explainer_batch": 0}, "at least 1")]:
        with pytest.raises(UserError, match=message):
            explainer_config(table, config)
    (tmp_path / "b.toml").write_text('explainer_key = "sk-x"\n')
    with pytest.raises(UserError, match="explainer_key does not belong in a file"):
        resolve(tmp_path / "b.toml", {})
    key_config = resolve(None, {"explainer_key": "sk-x"})
    assert key_config.explainer_key == "sk-x" and "sk-x" not in json.dumps(key_config.to_dict()) + repr(key_config)


def test_the_error_log_hides_the_key():
    from tfvis_site.errors import log_internal_error, redacted

    argv = ["build", "--explainer-key", "sk-1", "--explainer-k=sk-2", "--explainer", "http://h", "--explainer-model", "m"]
    assert redacted(argv) == ["build", "--explainer-key", "***", "--explainer-k=***", "--explainer", "http://h", "--explainer-model", "m"]
    log = log_internal_error(RuntimeError("boom"), argv)
    assert log is not None and "sk-1" not in log.read_text() and "sk-2" not in log.read_text()
    log.unlink()


def test_the_key_comes_from_the_option_then_the_environment(monkeypatch):
    from tfvis_site.analysis.explanations.client import api_key

    monkeypatch.delenv("TFVIS_EXPLAINER_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert api_key() == ""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    assert api_key() == "sk-openai"
    monkeypatch.setenv("TFVIS_EXPLAINER_KEY", "sk-tfvis")
    assert api_key() == "sk-tfvis" and api_key("sk-option") == "sk-option"
