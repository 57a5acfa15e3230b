"""A small client of an OpenAI-compatible chat-completions endpoint (llama.cpp's server, vLLM,
Ollama, a hosted API), on the standard library alone: one POST per question, greedy decoding,
retries with exponential backoff on 429, 5xx and network errors, and a one-line UserError when
the endpoint stays unreachable or answers something that is not a chat completion.

The API key (``--explainer-key``, $TFVIS_EXPLAINER_KEY or $OPENAI_API_KEY) goes into the
Authorization header and nowhere else: not into messages, errors, logs or the cache key.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...errors import UserError

KEY_ENV = ("TFVIS_EXPLAINER_KEY", "OPENAI_API_KEY")
#: Seconds before the first retry; doubled each time, at most MAX_WAIT (or the server's Retry-After).
BACKOFF = 1.0
MAX_WAIT = 60.0


def api_key(given: str = "") -> str:
    """The key to send: ``given`` (--explainer-key), else the first of KEY_ENV that is set, else ""."""
    return given or next((os.environ[k] for k in KEY_ENV if os.environ.get(k)), "")


def shown_url(url: str) -> str:
    """The endpoint as messages name it: without user, password or query."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "",
                                    parts.path, "", ""))


def completions_url(url: str) -> str:
    """``url`` ending in /chat/completions: ".../v1" -> ".../v1/chat/completions"."""
    url = url.rstrip("/")
    return url if url.endswith("/chat/completions") else url + "/chat/completions"


@dataclass
class Usage:
    """What the endpoint was asked: requests, and the prompt and completion tokens its answers'
    ``usage`` counted."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.requests += other.requests
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens

    def to_dict(self) -> dict[str, int]:
        return {"requests": self.requests, "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}

    def line(self) -> str:
        return f"{self.requests:,} requests, {self.prompt_tokens:,} prompt + {self.completion_tokens:,} completion tokens"


@dataclass
class ChatClient:
    """Asks ``model`` at the endpoint ``url``; ``usage`` sums every answered request."""

    url: str
    model: str
    key: str = field(default="", repr=False)
    timeout: float = 120.0
    retries: int = 4
    seed: int = 0
    usage: Usage = field(default_factory=Usage)
    sleep: Callable[[float], None] = time.sleep

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        """The answer's text to ``messages`` (greedy: temperature 0, seeded)."""
        body = json.dumps({"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": 0, "seed": self.seed,
                           "stream": False}).encode()
        answer = self._post(body)
        try:
            text = answer["choices"][0]["message"].get("content")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise UserError(f"--explainer {shown_url(self.url)}: the answer is not a chat completion (no choices[0].message)") from None
        if text is not None and not isinstance(text, str):
            raise UserError(f"--explainer {shown_url(self.url)}: the answer's message content is not text")
        text = text or ""  # a model that spent its tokens elsewhere (reasoning) answered nothing: read as no answer
        usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
        self.usage.add(Usage(1, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)))
        return text

    def _post(self, body: bytes) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        where = f"--explainer {shown_url(self.url)}"
        for attempt in range(self.retries + 1):
            wait = min(BACKOFF * 2 ** attempt, MAX_WAIT)
            try:
                request = urllib.request.Request(completions_url(self.url), data=body, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    raw = response.read()
                break
            except urllib.error.HTTPError as e:
                if e.code != 429 and e.code < 500:
                    hint = {401: "check the API key", 403: "check the API key", 404: "check the address and the model name"}.get(e.code)
                    said = _server_says(e, self.key)
                    raise UserError(f"{where}: HTTP {e.code} {e.reason}" + (f" ({hint})" if hint else "") + (f": {said}" if said else "")) from None
                problem = f"HTTP {e.code} {e.reason}"
                wait = _retry_after(e.headers.get("Retry-After"), wait)
            except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as e:
                reason = getattr(e, "reason", e)
                problem = f"unreachable ({reason})"
            if attempt == self.retries:
                raise UserError(f"{where}: {problem}, after {self.retries + 1} attempt{'s' if self.retries else ''}")
            self.sleep(wait)
        try:
            answer = json.loads(raw)
        except ValueError:
            raise UserError(f"{where}: the answer is not JSON (is this an OpenAI-compatible endpoint?)") from None
        if not isinstance(answer, dict):
            raise UserError(f"{where}: the answer is not a chat completion")
        return answer


def _server_says(e: urllib.error.HTTPError, key: str) -> str:
    """The first line of the error's message in an OpenAI-style error body ({"error": {"message"}}
    or {"error": "..."}), at most 200 characters and never the key; "" when there is none."""
    try:
        body = json.loads(e.read(65536) or b"null")
    except (ValueError, OSError):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    if not isinstance(message, str) or not message.strip():
        return ""
    line = message.strip().splitlines()[0][:200]
    return line.replace(key, "***") if key else line


def _retry_after(header: str | None, default: float) -> float:
    try:
        return min(max(float(header), 0.0), MAX_WAIT) if header else default
    except ValueError:
        return default
