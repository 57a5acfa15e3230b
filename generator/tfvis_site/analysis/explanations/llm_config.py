"""ExplainerConfig: the LLM explainer's knobs (issue 25; docs/factors.md, "LLM explanations"), set
by ``--explainer URL`` / ``--explainer-model`` or the ``explainer*`` keys of the ``[explanations]``
table. The API key is never one of them: it comes from ``--explainer-key`` or the environment
(client.api_key) and never reaches a config, a cache key, the manifest or a log."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

from ...stage_config import StageConfig, check_types
from .prompts import PROMPT_VERSION

#: Version of what the LLM explanation stage writes; part of cache_key().
LLM_RESULT_VERSION = 1
#: The [explanations] key that sets the endpoint; "explainer_<field>" sets the other fields.
URL_KEY = "explainer"
MODEL_ENV = "TFVIS_EXPLAINER_MODEL"


@dataclass(frozen=True)
class ExplainerConfig(StageConfig):
    """Settings of the LLM explanations (none unless ``url`` is set).

    url: an OpenAI-compatible endpoint (".../v1"; its /chat/completions is asked);
    model: the model name sent with every request (default: $TFVIS_EXPLAINER_MODEL);
    factors: explain only the first N factors by peak importance score (0: every factor);
    contexts: activating contexts shown in the explanation prompt (the strongest first);
    held_out: held-out activating contexts scored (detection adds as many non-activating ones);
    batch: contexts per scoring request; window: tokens shown before a context's token (a
    quarter as many after); max_tokens: the completion limit of a request;
    timeout (seconds per request), retries (on 429, 5xx and network errors, with backoff):
    how it is asked, never what it answers (left out of the cache key, like the url).
    """

    RUNTIME_ONLY: ClassVar[tuple[str, ...]] = ("url", "timeout", "retries")
    KEY_EXTRA: ClassVar[dict[str, Any]] = {"version": LLM_RESULT_VERSION, "prompt_version": PROMPT_VERSION}

    url: str = ""
    model: str = ""
    factors: int = 0
    contexts: int = 20
    held_out: int = 20
    batch: int = 10
    window: int = 24
    max_tokens: int = 256
    timeout: float = 120.0
    retries: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        self.require_at_least(1, ("contexts", "held_out", "batch", "window", "max_tokens"), prefix="explainer_")
        if self.factors < 0 or self.retries < 0 or self.timeout <= 0:
            raise ValueError("explainer_factors and explainer_retries must be at least 0, explainer_timeout above 0")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"explainer must be an http:// or https:// address, got {self.url!r}")

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    @classmethod
    def from_table(cls, table: dict[str, Any], seed: int) -> ExplainerConfig:
        """From the ``explainer*`` keys of an [explanations] table; the model name falls back
        to $TFVIS_EXPLAINER_MODEL. ValueError / TypeError on a bad or unknown key."""
        values: dict[str, Any] = {"seed": seed}
        for key, value in table.items():
            name = "url" if key == URL_KEY else key.removeprefix(URL_KEY + "_")
            if name in ("key", "seed"):
                raise ValueError(f"{key}: not an option here (the API key comes from --explainer-key or the environment)")
            try:
                check_types(cls, {name: value})
            except ValueError as e:
                raise ValueError(f"{key}: {e}") from None
            values[name] = value
        if not values.get("model"):
            values["model"] = os.environ.get(MODEL_ENV, "")
        cfg = cls(**values)
        if cfg.url and not cfg.model:
            raise ValueError(f"explainer {cfg.url}: give the model name (--explainer-model, explainer_model or ${MODEL_ENV})")
        return cfg


def split_table(table: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An [explanations] table -> (the rule explanations' keys, the explainer's keys)."""
    llm = {k: v for k, v in table.items() if k == URL_KEY or k.startswith(URL_KEY + "_")}
    return {k: v for k, v in table.items() if k not in llm}, llm
