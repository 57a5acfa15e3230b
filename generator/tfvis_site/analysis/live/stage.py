"""What the live-probe stages of a build do (their entries, run/stages.py LIVE_STAGES): export
the model (cached per model + max_tokens), then measure the compressed variants on the site's
corpus and choose one (cached per export + dictionary + texts).

The choice: the smallest weights (int8, then fp16, then fp32) whose factor activations stay
within ACTIVATION_TOLERANCE of the fp32 PyTorch model's, measured as

    relative = max |a_live - a_torch| / max |a_torch|

over N_ACCURACY_TEXTS corpus texts x their tokens x every hidden-state layer x every factor
active in both, where a_torch is FactorResult.encode on the PyTorch model's hidden states (what
``tfvis-site probe`` prints) and a_live is the numpy encoder (encoder.py) on the ONNX model's
hidden states in onnxruntime (what the browser computes).

Factors active in only one of the two are reported apart ("boundary flips"): the top-k cut is
discontinuous, so two factors whose pre-activations tie at the k-th place swap under any
perturbation, even the 1e-7 between torch's and numpy's fp32 sums (measured on a tiny model:
pre-activations 0.15468578 twice at the 8th place). ``flip_rows`` is the fraction of (token,
layer) rows whose active set differs, ``flip_max`` the largest activation that flipped;
``max_abs_error_all`` the largest difference of all, flips included.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...cache import stable_hash
from .compress import INT8_BLOCK, WEIGHTS, compress_onnx
from .encoder import encoder_arrays, unavailable_reason
from .export import OPSET, export_onnx
from .runtime import onnx_session, run_live

if TYPE_CHECKING:
    from ...capture.extract import ActivationStore
    from ..factors.stage import FactorResult
    from ...model.load import LoadedModel
    from ...progress import Reporter

LIVE_VERSION = 2  # bump when the exported graph or the files of the export stage change (2: int8 in blocks of 64)
MEASURE_VERSION = 3  # bump when the accuracy measurement or the choice changes (2: boundary flips apart; 3: stop at the first that passes)
ACTIVATION_TOLERANCE = 0.02
N_ACCURACY_TEXTS = 32
#: "auto" leaves the live probe out above this many parameters: its int8 model alone would add
#: ~1.33 bytes per parameter (the .js twin's base64) to the site: 180 MB for SmolLM2-135M.
AUTO_MAX_PARAMS = 60_000_000
MODES = ("auto", "on", "off")


@dataclass
class LiveExport:
    """The export chosen for the site: ``folder`` holds model.<weights>.onnx, tokenizer.json and
    tokenizer_meta.json (special tokens, kind); ``accuracy`` is what the choice measured."""

    folder: Path
    weights: str
    accuracy: dict[str, Any]

    @property
    def model_file(self) -> Path:
        return self.folder / f"model.{self.weights}.onnx"

    @property
    def exporter(self) -> str:
        """"torchscript" | "dynamo": the torch.onnx exporter that made the graph (export.py)."""
        return json.loads((self.folder / "export.json").read_text())["exporter"]

    @property
    def tokenizer_meta(self) -> dict[str, Any]:
        return json.loads((self.folder / "tokenizer_meta.json").read_text())


def unavailable(mode: str, model_name: str, store: ActivationStore, factors: FactorResult, modality_reason: str | None) -> str | None:
    """Why this model of the site (``model_name``) gets no live probe in mode "auto" / "on", or
    None; ``modality_reason``: why its modality has none (``Modality.live_probe_unavailable``)."""
    reason = modality_reason or unavailable_reason(factors)
    if reason:
        return reason
    n_params = store.info.n_params
    if mode == "auto" and n_params > AUTO_MAX_PARAMS:
        return (f"{model_name} has {n_params / 1e6:.0f} M parameters: its int8 model would add about "
                f"{n_params * 4 / 3 / 1e6:.0f} MB to the site (the live probe is on by default up to "
                f"{AUTO_MAX_PARAMS / 1e6:.0f} M; build with --live-probe to include it)")
    return None


def export_key(model_key: Any, max_tokens: int) -> dict[str, Any]:
    """The export stage's key: the model (its part of every key), its max_tokens and the
    exporter's versions."""
    import onnxruntime
    import torch
    import transformers

    return {"v": LIVE_VERSION, "model": model_key, "max_tokens": max_tokens, "opset": OPSET, "int8_block": INT8_BLOCK,
            "torch": torch.__version__, "transformers": transformers.__version__, "onnxruntime": onnxruntime.__version__}


def export_failed(error: Exception, mode: str) -> str | None:
    """An architecture the exporter cannot trace: the site is built without the probe, with a
    warning and the reason in the manifest; with ``--live-probe`` (``mode`` "on", asked for) the
    build stops with that reason. A UserError stops the build as it is."""
    from ...errors import UserError, first_line

    if isinstance(error, UserError):
        return None
    reason = f"the ONNX export failed ({type(error).__name__}: {first_line(error)})"
    if mode == "on":
        raise UserError(f"--live-probe: {reason}; build without --live-probe to leave the live probe out") from None
    return reason


def accuracy_texts(items: list[str]) -> list[str]:
    """The corpus texts the choice measures on."""
    return items[:N_ACCURACY_TEXTS]


def choice_key(export_key: Any, factors_key: Any, texts: list[str]) -> dict[str, Any]:
    """The choice stage's key: the export, the dictionary and the texts measured on."""
    return {"v": MEASURE_VERSION, "export": export_key, "factors": factors_key, "texts": stable_hash(texts), "tolerance": ACTIVATION_TOLERANCE}


def load_choice(folder: Path, export_folder: Path) -> LiveExport:
    """The chosen export from the choice stage's ``folder`` and the export stage's."""
    accuracy = json.loads((folder / "accuracy.json").read_text())
    weights = accuracy.pop("weights")
    return LiveExport(folder=export_folder, weights=weights, accuracy=accuracy)


def choice_log(live: LiveExport, cached: bool) -> str:
    cand = live.accuracy["candidates"][live.weights]
    return (f"live probe: {live.weights} weights, activations within {cand['relative']:.2%} of fp32 "
            f"(max abs {cand['max_abs_activation_error']:.4f}; top-k boundary flips in {cand['flip_rows']:.2%} of token-layers), "
            f"attention within {cand['attention_max_abs_error']:.1e}" + (" (cached)" if cached else ""))


def export_all(loaded: LoadedModel, max_tokens: int, out: Path, reporter: Reporter) -> None:
    """The fp32 graph, its int8 and fp16 variants, and the tokenizer files, into ``out``."""
    with reporter.task("live probe: export to ONNX", total=1 + len(WEIGHTS) - 1) as task:
        exporter = export_onnx(loaded, max_tokens, out / "model.fp32.onnx")
        (out / "export.json").write_text(json.dumps({"exporter": exporter, "opset": OPSET}))
        task.advance(1)
        for weights in WEIGHTS:
            if weights != "fp32":
                compress_onnx(out / "model.fp32.onnx", out / f"model.{weights}.onnx", weights)
                task.advance(1)
    write_tokenizer(loaded.tokenizer, out)


def write_tokenizer(tokenizer: Any, out: Path) -> None:
    """tokenizer.json (the fast tokenizer's own JSON, truncation and padding off: the manifest
    says how to truncate) and tokenizer_meta.json: its kind and the special tokens that
    add_special_tokens=True puts before and after the pieces."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    spec["truncation"] = None
    spec["padding"] = None
    (out / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False, separators=(",", ":")))
    prefix, suffix = special_tokens(tokenizer)
    meta = {"kind": str(spec.get("model", {}).get("type", "unknown")).lower(), "prefix": prefix, "suffix": suffix}
    (out / "tokenizer_meta.json").write_text(json.dumps(meta))


def special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """(ids before, ids after) the pieces of a text with add_special_tokens=True."""
    for probe in ("hello world", "a", "x y z"):
        bare = tokenizer(probe, add_special_tokens=False)["input_ids"]
        full = tokenizer(probe, add_special_tokens=True)["input_ids"]
        for start in range(len(full) - len(bare) + 1):
            if bare and full[start : start + len(bare)] == bare:
                return [int(i) for i in full[:start]], [int(i) for i in full[start + len(bare) :]]
    raise ValueError("cannot tell the special tokens of the tokenizer apart from the text's pieces")


def torch_reference(loaded: LoadedModel, factors: FactorResult, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The PyTorch model on one text, as ``tfvis-site probe`` runs it: (activations (T, L+1, m)
    from FactorResult.encode, attentions (L, H, T, T))."""
    import torch

    with torch.inference_mode():
        t = torch.tensor([ids], device=loaded.device)
        out = loaded.model(input_ids=t, attention_mask=torch.ones_like(t), output_hidden_states=True, output_attentions=True)
    acts = np.stack([factors.encode(h[0].float().cpu().numpy(), layer) for layer, h in enumerate(out.hidden_states)], 1)
    return acts, torch.stack(out.attentions)[:, 0].float().cpu().numpy()


def measure_variants(loaded: LoadedModel, factors: FactorResult, texts: list[str], max_tokens: int, variants: dict[str, Path], reporter: Reporter) -> tuple[dict[str, dict[str, Any]], float]:
    """Each ONNX file of ``variants`` (name -> path) against the PyTorch model on ``texts``:
    ({name: {"bytes", "max_abs_activation_error", "relative", "attention_max_abs_error"}}, the
    largest fp32 activation, the denominator of "relative")."""
    arrays, k = encoder_arrays(factors), factors.config.sae_k
    encoded = [loaded.tokenizer(t, truncation=True, max_length=max_tokens)["input_ids"] for t in texts]
    references = [torch_reference(loaded, factors, ids) for ids in encoded]
    peak = max(float(np.abs(a).max()) for a, _ in references) or 1.0
    out = {}
    with reporter.task(f"live probe: measure {' / '.join(variants)}", total=len(variants)) as task:
        for name, path in variants.items():
            session = onnx_session(path)
            err = {"value": 0.0, "all": 0.0, "flip_max": 0.0, "attention": 0.0}
            flip_rows = rows = 0
            for ids, (ref_acts, ref_att) in zip(encoded, references):
                acts, att = run_live(session, arrays, k, ids)
                both, either = (acts > 0) & (ref_acts > 0), (acts > 0) | (ref_acts > 0)
                diff = np.abs(acts - ref_acts)
                err["value"] = max(err["value"], float(diff[both].max(initial=0.0)))
                err["all"] = max(err["all"], float(diff.max()))
                err["flip_max"] = max(err["flip_max"], float(diff[either & ~both].max(initial=0.0)))
                err["attention"] = max(err["attention"], float(np.abs(att - ref_att).max()))
                flip_rows += int((either & ~both).any(axis=2).sum())
                rows += acts.shape[0] * acts.shape[1]
            out[name] = {
                "bytes": Path(path).stat().st_size,
                "max_abs_activation_error": round(err["value"], 6),
                "relative": round(err["value"] / peak, 6),
                "flip_rows": round(flip_rows / max(rows, 1), 6),
                "flip_max": round(err["flip_max"], 6),
                "max_abs_error_all": round(err["all"], 6),
                "attention_max_abs_error": round(err["attention"], 7),
            }
            task.advance(1)
    return out, peak


def choose_weights(loaded: LoadedModel, factors: FactorResult, export_dir: Path, texts: list[str], max_tokens: int, out: Path, reporter: Reporter) -> None:
    """Measure the variants, smallest first, against the PyTorch model on ``texts`` until one is
    within ACTIVATION_TOLERANCE (fp32 when none is); accuracy.json gets the errors of each
    variant measured and the chosen ``weights``. bench/live_probe.py measures them all."""
    candidates: dict[str, dict[str, Any]] = {}
    for weights in WEIGHTS:  # the smallest first; stop at the first that passes (each costs a session and 32 runs)
        measured, peak = measure_variants(loaded, factors, texts, max_tokens, {weights: export_dir / f"model.{weights}.onnx"}, reporter)
        candidates.update(measured)
        if measured[weights]["relative"] <= ACTIVATION_TOLERANCE:
            break
    accuracy = {
        "weights": weights,
        "measure": (f"relative = max |a - a_fp32| / max |a_fp32| over {len(texts)} corpus texts x tokens x layers x the factors "
                    "active in both (a: the numpy encoder on onnxruntime's hidden states, a_fp32: FactorResult.encode on the "
                    f"PyTorch model's); a variant is used when relative <= {ACTIVATION_TOLERANCE}, the smallest first (the larger ones "
                    "are then not measured). Factors active "
                    "in one only (ties at the top-k cut): flip_rows = fraction of (token, layer) rows whose active set differs, "
                    "flip_max = the largest such activation; max_abs_error_all includes them"),
        "n_texts": len(texts),
        "max_activation": round(peak, 6),
        "tolerance": ACTIVATION_TOLERANCE,
        "candidates": candidates,
        **{key: candidates[weights][key] for key in ("max_abs_activation_error", "relative", "flip_rows", "flip_max", "attention_max_abs_error")},
    }
    (out / "accuracy.json").write_text(json.dumps(accuracy, indent=1))
