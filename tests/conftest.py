import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402

from tiny import save_tiny_checkpoint  # noqa: E402


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Tiny random BERT, GPT-2 and Llama (GQA) checkpoint folders."""
    root = tmp_path_factory.mktemp("checkpoints")
    return {kind: save_tiny_checkpoint(kind, root / kind) for kind in ("bert", "gpt2", "llama")}


HOSTILE_TEXTS = [
    "The cat sat on the mat.",
    "A dog ran in the park, and the children laughed.",
    "Paris is the capital of France; Berlin is the capital of Germany.",
    "She turned left at the river and walked to the old mill.",
    "<script>alert('pwned')</script> and <img src=x onerror=alert(2)> stay text.",
    "In 1969, astronauts landed on the Moon for the first time.",
    "Water boils at 100 degrees Celsius at sea level.",
    "The quick brown fox jumps over the lazy dog!",
]


@pytest.fixture(scope="session")
def tiny_site(tiny_checkpoints, tmp_path_factory) -> Path:
    """A site built once from the tiny BERT on a small corpus that includes HTML-looking text."""
    from tfvis_site.cli import main

    root = tmp_path_factory.mktemp("tiny-site")
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(HOSTILE_TEXTS) + "\n")
    out = root / "site"
    code = main(["build", "--quiet", "--preset", "quick", "--model", str(tiny_checkpoints["bert"]), "--corpus", str(corpus), "--out", str(out), "--cache-dir", str(root / "cache")])
    assert code == 0
    return out
