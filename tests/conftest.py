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


#: File names of the tiny image corpus: one of them is HTML, which must stay text on every page.
HOSTILE_IMAGE_NAME = "<img src=x onerror=alert(1)>.png"


@pytest.fixture(scope="session")
def tiny_image_site(tmp_path_factory) -> Path:
    """A site built once from a tiny random DINOv2 with 2 registers (48 px images, 8 px patches:
    a 6 x 6 grid + [CLS] + 2 registers) on a folder of 16 synthetic images, one with an HTML name."""
    from tiny import save_tiny_image_checkpoint

    from tfvis_site.cli import main
    from tfvis_site.images import load_image_corpus

    root = tmp_path_factory.mktemp("tiny-image-site")
    model = save_tiny_image_checkpoint("dinov2_registers", root / "model", image_size=48)
    folder = root / "images"
    (folder / "sub").mkdir(parents=True)
    corpus = load_image_corpus("synthetic", 16, seed=0)
    for i, (image, name) in enumerate(zip(corpus.images, corpus.names)):
        target = folder / (HOSTILE_IMAGE_NAME if i == 3 else f"sub/{name}.png" if i % 2 else f"{name}.png")
        image.resize((64, 56)).save(target)
    out = root / "site"
    code = main(["build", "--quiet", "--preset", "quick", "--model", str(model), "--corpus", str(folder), "--out", str(out), "--cache-dir", str(root / "cache")])
    assert code == 0
    return out
