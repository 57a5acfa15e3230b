"""Where the model's forward passes are fastest on this CPU, at equal outputs: the measurement
behind the forward runtime of extraction and LIME (docs/factors.md, "Forward runtime").

    python bench/forward_runtime.py [--model minilm] [--sentences 4] [--extract 128] [--repeat 3]

On the real model (default: the built-in MiniLM) and the default corpus and preset (4,000
sentences, 64 tokens), two kinds of work, each run by every candidate in turn, A B C ... A B C
(``--repeat`` rounds; the machine is shared, so only the ratios of one run mean much):

* LIME-shaped: ``--sentences`` sentences, each as LIME feeds it: the original + 96 copies with
  30% of the tokens replaced by [UNK], ``batch_size`` 128 (one batch per sentence today);
* extraction-shaped: ``--extract`` sentences, longest first, padded batches of 32.

Candidates, all on torch's thread count: ``eager`` (today's path, lime.hidden_states_at: the
transformers model in PyTorch, fp32, eager attention), ``sdpa`` (the same with PyTorch's fused
scaled-dot-product attention), ``compile`` (torch.compile of the eager model, dynamic shapes,
warmed up before timing), ``onnxruntime`` (the model exported to ONNX as the live probe's export
does, fp32, every hidden state an output, batch and length dynamic), ``onnxruntime-fused`` (that
graph after onnxruntime's BERT fusions: BERT-family models only), ``eager-packed`` (LIME only:
the copies of the 4 sentences of one length in one batch of 388 instead of one batch of 97 per
sentence) and ``eager-bf16`` (bf16 autocast, when the CPU has AVX512-BF16 or AMX; channels-last
is a convolution layout and does not apply to a text transformer). One table: median seconds,
seconds per 1,000 copies (sentences for extraction), speed relative to eager (> 1 = faster) and
the largest |hidden state - eager's| over every layer and real token (equal outputs: <= 1e-4).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from tfvis_site.analysis.factors.lime import hidden_states_at  # noqa: E402
from tfvis_site.capture.extract import tokenize  # noqa: E402
from tfvis_site.corpus.text import load_corpus  # noqa: E402
from tfvis_site.modality import TEXT  # noqa: E402
from tfvis_site.model.load import load_model  # noqa: E402
from tfvis_site.model.registry import resolve_model  # noqa: E402

#: A batch: (input_ids (B, T) int64, attention_mask (B, T) int64).
Batch = tuple[np.ndarray, np.ndarray]


def lime_batches(encoded: list[list[int]], mask_id: int, copies: int, rng: np.random.Generator) -> list[list[Batch]]:
    """Per sentence, its original + ``copies`` perturbed copies (30% of the non-special tokens
    -> ``mask_id``) as one (copies + 1, T) batch: what lime.explain_sentence feeds the model."""
    out = []
    for ids in encoded:
        batch = np.repeat(np.asarray(ids, np.int64)[None], copies + 1, axis=0)
        drop = rng.random((copies, len(ids) - 2)) >= 0.7
        batch[1:, 1:-1][drop] = mask_id
        out.append([(batch, np.ones_like(batch))])
    return out


def equal_length_groups(encoded: list[list[int]], n: int, rng: np.random.Generator, group: int = 4) -> list[list[int]]:
    """``n`` sentences in groups of ``group`` of one length, the lengths drawn from the corpus's:
    LIME's 225 sentences sorted by length have ~4 of each length (MiniLM, 64 tokens), so a
    packed batch of one length needs no padding; a handful drawn at random would not show that."""
    by_length: dict[int, list[int]] = {}
    for i, ids in enumerate(encoded):
        by_length.setdefault(len(ids), []).append(i)
    picked: list[list[int]] = []
    while len(picked) < n:
        members = by_length[len(encoded[int(rng.integers(len(encoded)))])]
        if len(members) >= group:
            picked += [encoded[i] for i in rng.choice(members, group, replace=False)]
    return picked[:n]


def pack(sentences: list[list[Batch]], pad_id: int, max_copies: int) -> list[Batch]:
    """Every copy of every sentence, sorted by length, in padded batches of up to ``max_copies``."""
    rows = sorted((r for sentence in sentences for ids, _ in sentence for r in ids), key=len, reverse=True)
    batches = []
    for start in range(0, len(rows), max_copies):
        chunk = rows[start : start + max_copies]
        width = len(chunk[0])
        ids = np.full((len(chunk), width), pad_id, np.int64)
        mask = np.zeros_like(ids)
        for i, r in enumerate(chunk):
            ids[i, : len(r)], mask[i, : len(r)] = r, 1
        batches.append((ids, mask))
    return batches


def padded(encoded: list[list[int]], pad_id: int, batch_size: int) -> list[Batch]:
    """Extraction's batches: longest first, ``batch_size`` sentences each, padded."""
    order = sorted(encoded, key=len, reverse=True)
    return pack([[(np.asarray([ids]), None)] for ids in order], pad_id, batch_size)


def real_states(runner: Any, batches: list[Batch], n_layers: int) -> list[np.ndarray]:
    """Hidden states of every real token, per copy, in a canonical order: (n_layers + 1, T, d) each."""
    out = []
    for ids, mask in batches:
        states = runner.hidden_states({"input_ids": ids, "attention_mask": mask}, list(range(n_layers + 1)))
        for row in range(len(ids)):
            n = int(mask[row].sum())
            out.append((tuple(ids[row, :n]), np.stack([states[layer][row, :n] for layer in range(n_layers + 1)])))
    out.sort(key=lambda pair: pair[0])
    return [s for _, s in out]


def max_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def measure(candidates: dict[str, tuple[Any, list[Batch]]], n_layers: int, repeat: int) -> dict[str, list[float]]:
    """Seconds per round of each candidate, the candidates alternating within every round."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeat):
        for name, (runner, batches) in candidates.items():
            start = time.perf_counter()
            for ids, mask in batches:
                runner.hidden_states({"input_ids": ids, "attention_mask": mask}, list(range(n_layers + 1)))
            times[name].append(time.perf_counter() - start)
    return times


def report(title: str, unit: str, candidates: dict[str, tuple[Any, list[Batch]]], n_items: int, n_layers: int, repeat: int, table: Table) -> None:
    reference = real_states(candidates["eager"][0], candidates["eager"][1], n_layers)
    diffs = {name: max_diff(reference, real_states(runner, batches, n_layers)) for name, (runner, batches) in candidates.items()}
    times = measure(candidates, n_layers, repeat)
    eager = float(np.median(times["eager"]))
    for name in candidates:
        median = float(np.median(times[name]))
        table.add_row(title, name, f"{median:.2f}", f"{1000 * median / n_items:.2f} / 1,000 {unit}", f"{eager / median:.2f}x",
                      f"{diffs[name]:.1e}", " ".join(f"{t:.2f}" for t in times[name]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--sentences", type=int, default=4, help="LIME: sentences of 97 copies each, in groups of 4 of one length")
    parser.add_argument("--extract", type=int, default=128, help="extraction: sentences, in batches of 32")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", default="", help="comma-separated candidates to leave out (compile takes minutes to warm up)")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    with tempfile.TemporaryDirectory() as tmp:
        loaded = load_model(resolve_model(args.model, Path(tmp)).folder, modality=TEXT)
    n_layers, tokenizer = loaded.info.n_layers, loaded.tokenizer
    texts = load_corpus(None, 4000, 0).texts
    rng = np.random.default_rng(0)
    encoded = [e["ids"] for e in tokenize(tokenizer, texts, 64)]
    lime = lime_batches(equal_length_groups(encoded, args.sentences, rng), tokenizer.unk_token_id, 96, rng)
    extract = padded([encoded[i] for i in rng.choice(len(encoded), args.extract, replace=False)], tokenizer.pad_token_id, 32)
    runners: dict[str, Callable[[], Any]] = {
        "eager": lambda: EagerRunner(loaded),
        "compile": lambda: CompiledRunner(loaded),
        "onnxruntime": lambda: OnnxRunner(loaded, fused=False),
        "onnxruntime-fused": lambda: OnnxRunner(loaded, fused=True),
        "eager-bf16": lambda: Bf16Runner(loaded),
        "sdpa": lambda: EagerRunner(with_attention(loaded, "sdpa")),
    }
    if not bf16_cpu():
        skip.add("eager-bf16")
    built = {name: make() for name, make in runners.items() if name not in skip}
    lime_flat = [b for sentence in lime for b in sentence]
    lime_candidates = {name: (runner, lime_flat) for name, runner in built.items()}
    lime_candidates["eager-packed"] = (built["eager"], pack(lime, tokenizer.pad_token_id, 4 * 97))
    table = Table(title=f"Forward passes of {loaded.info.name} ({n_layers} layers, d = {loaded.info.d_model}) on {os.cpu_count()} cores, "
                        f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {args.repeat} alternating rounds")
    for column in ("work", "runtime", "s", "per 1,000", "speed vs eager", "max |diff|", "rounds s"):
        table.add_column(column, justify="right")
    n_copies = sum(len(ids) for ids, _ in lime_flat)
    report(f"LIME {args.sentences} x 97", "copies", lime_candidates, n_copies, n_layers, args.repeat, table)
    extract_candidates = {name: (runner, extract) for name, runner in built.items()}
    report(f"extract {args.extract}", "sentences", extract_candidates, args.extract, n_layers, args.repeat, table)
    Console(width=200).print(table)


def with_attention(loaded: Any, implementation: str) -> Any:
    """A copy of ``loaded`` whose model computes attention with ``implementation``."""
    import copy

    other = copy.copy(loaded)
    other.model = copy.deepcopy(loaded.model)
    other.model.set_attn_implementation(implementation)
    return other


def bf16_cpu() -> bool:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return "avx512_bf16" in flags or "amx_bf16" in flags


class CompiledRunner:
    """torch.compile of the eager model (dynamic shapes; the first calls compile, warmed here)."""

    def __init__(self, loaded: Any):
        self.model = torch.compile(loaded.model, dynamic=True)
        start = time.perf_counter()
        for width, batch in ((20, 97), (33, 32), (12, 32)):
            ids = torch.ones((batch, width), dtype=torch.long)
            with torch.inference_mode():
                self.model(input_ids=ids, attention_mask=torch.ones_like(ids), output_hidden_states=True)
        print(f"torch.compile warm-up: {time.perf_counter() - start:.0f} s", file=sys.stderr)

    def hidden_states(self, inputs: dict[str, np.ndarray], layers: list[int]) -> dict[int, np.ndarray]:
        with torch.inference_mode():
            out = self.model(**{k: torch.as_tensor(v) for k, v in inputs.items()}, output_hidden_states=True)
        return {layer: out.hidden_states[layer].float().numpy() for layer in layers}


class EagerRunner:
    """Today's path: lime.hidden_states_at (extraction's pass is the same model call)."""

    def __init__(self, loaded: Any):
        self.loaded = loaded

    def hidden_states(self, inputs: dict[str, np.ndarray], layers: list[int]) -> dict[int, np.ndarray]:
        states = hidden_states_at(self.loaded, {k: torch.as_tensor(v) for k, v in inputs.items()}, layers)
        return {layer: h.float().numpy() for layer, h in states.items()}


class OnnxRunner:
    """The model as an fp32 ONNX graph (input_ids, attention_mask) (B, T) int64 -> every hidden
    state (L + 1, B, T, d), batch and length dynamic (TorchScript exporter, as the live probe's
    export, traced on a padded batch so the mask stays an input); ``fused``: after onnxruntime's
    BERT fusions (attention, skip layer norm, bias GELU). On torch's thread count."""

    def __init__(self, loaded: Any, fused: bool):
        import io

        import onnxruntime as ort

        buffer = io.BytesIO()
        ids = torch.ones((2, 5), dtype=torch.long)
        mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
        axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}, "hidden_states": {1: "batch", 2: "tokens"}}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(AllHidden(loaded.model).eval(), (ids, mask), buffer, dynamo=False, input_names=["input_ids", "attention_mask"],
                              output_names=["hidden_states"], dynamic_axes=axes, opset_version=18)
        graph = buffer.getvalue()
        if fused:
            from onnxruntime.transformers.optimizer import optimize_model

            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "model.onnx").write_bytes(graph)
                info = loaded.info
                graph = optimize_model(str(Path(tmp) / "model.onnx"), model_type="bert", num_heads=info.n_heads, hidden_size=info.d_model,
                                       opt_level=1).model.SerializeToString()
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def hidden_states(self, inputs: dict[str, np.ndarray], layers: list[int]) -> dict[int, np.ndarray]:
        (states,) = self.session.run(["hidden_states"], {k: np.asarray(inputs[k], np.int64) for k in ("input_ids", "attention_mask")})
        return {layer: states[layer] for layer in layers}


class AllHidden(torch.nn.Module):
    """(input_ids, attention_mask) -> torch.stack(hidden_states): (L + 1, B, T, d)."""

    def __init__(self, model: Any):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return torch.stack(self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True).hidden_states)


class Bf16Runner:
    """The eager model under CPU bf16 autocast."""

    def __init__(self, loaded: Any):
        self.model = loaded.model

    def hidden_states(self, inputs: dict[str, np.ndarray], layers: list[int]) -> dict[int, np.ndarray]:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            out = self.model(**{k: torch.as_tensor(v) for k, v in inputs.items()}, output_hidden_states=True)
        return {layer: out.hidden_states[layer].float().numpy() for layer in layers}


if __name__ == "__main__":
    sys.exit(main())
