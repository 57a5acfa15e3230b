import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from shared import shared_folder  # noqa: E402
from tiny import save_tiny_checkpoint  # noqa: E402


#: The fuzz tests' (tests/test_fuzz_*.py) one profile, in CI and here: derandomized, so every run
#: tries the same examples (a failure is reproducible, a pass stays a pass), and no example
#: database (nothing written into the checkout). No deadline: a shared 2-core machine is slow at
#: random; each property sets its own max_examples to keep the suite quick.
settings.register_profile("tfvis", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("tfvis")


@pytest.fixture(scope="module")
def browser():
    """One headless chromium per test module (launching one costs seconds); tests open their own
    contexts or pages. Modules that need other launch options define their own ``browser``."""
    from playwright.sync_api import sync_playwright

    from browser import launch_browser

    with sync_playwright() as p:
        b = launch_browser(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Tiny random BERT, GPT-2 and Llama (GQA) checkpoint folders."""
    kinds = ("bert", "gpt2", "llama")

    def make(root):
        for kind in kinds:
            save_tiny_checkpoint(kind, root / kind)

    root = shared_folder(tmp_path_factory, "checkpoints", make)
    return {kind: root / kind for kind in kinds}


#: Sentences of the tiny attention stores (test_attention*.py).
ATTENTION_SENTENCES = [
    "The cat sat on the mat.",
    "Paris is the capital of France, and Berlin is the capital of Germany.",
    "A dog ran in the park.",
    "She turned left at the river and walked to the old mill in the park.",
    "Water boils at 100 degrees.",
    "Music, art and science were taught at the school.",
]


@pytest.fixture(scope="session")
def stores(tiny_checkpoints, tmp_path_factory):
    """Activation stores with attention capture of the tiny BERT, GPT-2 and Llama (GQA), shared
    by the attention tests of every module."""
    from tfvis_site.capture.extract import ExtractOptions, extract
    from tfvis_site.capture.store import ActivationStore
    from tfvis_site.modality import TEXT
    from tfvis_site.model.load import load_model
    from tfvis_site.progress import Reporter

    def make(root):
        for kind in tiny_checkpoints:
            path = root / f"store-{kind}"
            path.mkdir()
            loaded = load_model(tiny_checkpoints[kind], modality=TEXT)
            extract(loaded, ATTENTION_SENTENCES, path, ExtractOptions(max_tokens=24, batch_size=4, capture_attention=True), Reporter.silent(),
                    modality=TEXT)

    root = shared_folder(tmp_path_factory, "stores", make)
    return {kind: ActivationStore(root / f"store-{kind}") for kind in tiny_checkpoints}


@pytest.fixture(scope="session")
def pca_results(stores, tmp_path_factory):
    """The attention stage (PCA only) on each of ``stores``."""
    from tfvis_site.analysis.attention import AttentionConfig, AttentionResult, analyse_attention
    from tfvis_site.modality import TEXT
    from tfvis_site.progress import Reporter

    def make(root):
        cfg = AttentionConfig(projections=("pca",), n_jobs=1, trust_sample=200)
        for kind, store in stores.items():
            analyse_attention(store, cfg, root / f"attn-{kind}", Reporter.silent(), statistics=TEXT.head_statistics())

    root = shared_folder(tmp_path_factory, "pca-results", make)
    return {kind: AttentionResult.load(root / f"attn-{kind}") for kind in stores}


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

    def make(root):
        corpus = root / "corpus.txt"
        corpus.write_text("\n".join(HOSTILE_TEXTS) + "\n")
        code = main(["build", "--quiet", "--preset", "quick", "--model", str(tiny_checkpoints["bert"]), "--corpus", str(corpus), "--out", str(root / "site"), "--cache-dir", str(root / "cache")])
        assert code == 0

    return shared_folder(tmp_path_factory, "tiny-site", make) / "site"


@pytest.fixture(scope="session")
def tiny_decoder_site(tmp_path_factory) -> Path:
    """A site built once from a tiny Llama (GQA, RoPE) with its language-model head, on the same
    corpus as ``tiny_site``; its checkpoint is ``site.parent / "model"``."""
    from tfvis_site.cli import main

    def make(root):
        model = save_tiny_checkpoint("llama", root / "model", lm_head=True)
        corpus = root / "corpus.txt"
        corpus.write_text("\n".join(HOSTILE_TEXTS) + "\n")
        code = main(["build", "--quiet", "--preset", "quick", "--model", str(model), "--corpus", str(corpus),
                     "--out", str(root / "site"), "--cache-dir", str(root / "cache")])
        assert code == 0

    return shared_folder(tmp_path_factory, "tiny-llama-site", make) / "site"


def minilm_quick_command(folder: Path) -> list[str]:
    """The default model's quick build as a user runs it: the CLI in a fresh interpreter, with
    nothing but --preset quick and where to write (``folder``/site, ``folder``/cache)."""
    return [sys.executable, "-m", "tfvis_site", "build", "--preset", "quick", "--out", str(folder / "site"), "--cache-dir", str(folder / "cache")]


@pytest.fixture(scope="session")
def minilm_quick_site(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The default model (all-MiniLM-L6-v2) on the default Wikipedia corpus, --preset quick, built
    once per test run by ``minilm_quick_command`` (in the folder, as its working directory):
    (the folder, with site/ and cache/; that build's exit code and output, which tests assert)."""

    def make(root):
        run = subprocess.run(minilm_quick_command(root), capture_output=True, text=True, cwd=root)
        (root / "build.json").write_text(json.dumps({"args": run.args, "returncode": run.returncode, "stdout": run.stdout, "stderr": run.stderr}))

    root = shared_folder(tmp_path_factory, "minilm-quick", make)
    return root, subprocess.CompletedProcess(**json.loads((root / "build.json").read_text()))


#: File names of the tiny image corpus: one of them is HTML, which must stay text on every page.
HOSTILE_IMAGE_NAME = "<img src=x onerror=alert(1)>.png"


@pytest.fixture(scope="session")
def tiny_image_site(tmp_path_factory) -> Path:
    """A site built once from a tiny random DINOv2 with 2 registers (48 px images, 8 px patches:
    a 6 x 6 grid + [CLS] + 2 registers) on a folder of 16 synthetic images, one with an HTML name."""
    from tiny import save_tiny_image_checkpoint

    from tfvis_site.cli import main
    from tfvis_site.corpus.images import load_image_corpus

    def make(root):
        model = save_tiny_image_checkpoint("dinov2_registers", root / "model", image_size=48)
        folder = root / "images"
        (folder / "sub").mkdir(parents=True)
        corpus = load_image_corpus("synthetic", 16, seed=0)
        for i, (image, name) in enumerate(zip(corpus.images, corpus.names)):
            target = folder / (HOSTILE_IMAGE_NAME if i == 3 else f"sub/{name}.png" if i % 2 else f"{name}.png")
            image.resize((64, 56)).save(target)
        code = main(["build", "--quiet", "--preset", "quick", "--model", str(model), "--corpus", str(folder), "--out", str(root / "site"), "--cache-dir", str(root / "cache")])
        assert code == 0

    return shared_folder(tmp_path_factory, "tiny-image-site", make) / "site"


#: Groups of tests handed out first under xdist, longest first (--no-loadscope-reorder in
#: pyproject's addopts keeps this order; the other groups follow in file order): a long group
#: handed out last would keep one worker busy while the other idles. Their seconds on 2 workers
#: (per group, setup included, from --junitxml; on a loaded machine): 263 241 190 128 115 109 86
#: 77 77 61 60 56 55 54. Only the order of the work: a group missing here runs all the same.
LONGEST_FIRST = (
    "tests/test_dinov2_build.py", "minilm", "tests/test_ray.py", "tests/test_attention.py", "tests/test_multisite.py",
    "tests/test_probe.py", "tests/test_architectures.py", "tests/test_packaging.py", "tests/test_live_browser.py",
    "tests/test_build.py", "tests/test_tokenizer_browser.py", "tests/test_live_export.py",
    "tests/test_attention_pages_browser.py", "tests/test_resume.py", "tests/test_llm_explanations_build.py", "tests/test_fuzz_cli.py",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (pyproject's addopts: --dist loadgroup) every test without an
    ``xdist_group`` mark is grouped with its module, so that a module's tests run on one worker
    and its module-scoped fixtures (sites, browsers, a Ray instance) are made once; a mark groups
    tests of several modules that read one expensive site (``minilm``). Runs before xdist's own
    hook, which reads the marks."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    rank = {group: i for i, group in enumerate(LONGEST_FIRST)}
    order = {id(item): i for i, item in enumerate(items)}

    def group(item):
        mark = item.get_closest_marker("xdist_group")
        return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))

    items.sort(key=lambda item: (rank.get(group(item), len(rank)), order[id(item)]))


def pytest_sessionfinish(session, exitstatus):
    """With TFVIS_REQUIRE_ALL=1 (CI) a skipped test fails the run: the whole suite must run."""
    if os.environ.get("TFVIS_REQUIRE_ALL") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = terminalreporter.stats.get("skipped", [])
    if os.environ.get("TFVIS_REQUIRE_ALL") == "1" and skipped:
        terminalreporter.write_line(f"TFVIS_REQUIRE_ALL=1: {len(skipped)} skipped test(s) fail this run (install what they need)", red=True)
