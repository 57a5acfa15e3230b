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
