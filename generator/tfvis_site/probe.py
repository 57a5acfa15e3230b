"""``tfvis-site probe``: factor activations on new text, with a built site's model and dictionary
(the paper's adversarial-text experiment made easy).

The build leaves a record in the cache (``<cache>/sites/<hash of the site path>.json``) naming,
for each model of the site (by slug), the model folder and the factor stage folder, so the site
itself carries no local paths. A site of several models needs ``--model SLUG``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .cache import StageCache, stable_hash
from .errors import UserError
from .site.layout import MANIFEST, model_dir, pick_model


def site_record_path(cache: StageCache, site_dir: Path) -> Path:
    return cache.root / "sites" / f"{stable_hash(str(Path(site_dir).resolve()))}.json"


def write_site_record(cache: StageCache, site_dir: Path, record: dict[str, Any]) -> None:
    path = site_record_path(cache, site_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"site": str(Path(site_dir).resolve()), **record}, indent=1))


def read_site_record(cache: StageCache, site_dir: Path, slug: str | None = None) -> dict[str, Any]:
    """The build record of the site's model ``slug`` (None: the only one)."""
    slug = pick_model(site_dir, slug)
    path = site_record_path(cache, site_dir)
    if not path.exists():
        raise UserError(f"{site_dir}: no build record in the cache {cache.root} (build the site on this machine, or pass the --cache-dir it was built with)")
    record = json.loads(path.read_text()).get("models", {}).get(slug)
    if record is None:
        raise UserError(f"{site_dir}: the build record in {cache.root} does not hold model {slug} (rebuild the site)")
    if not Path(record["factors"]).exists():
        raise UserError(f"{record['factors']}: the site's cached dictionary is gone (rebuild the site)")
    return record


def site_factors(site_dir: Path, cache: StageCache, model: str | None = None) -> tuple[dict[str, Any], Any]:
    """(build record, FactorResult) of the text model ``model`` (a slug; None: the only one) of a
    site built on this machine, or a one-line UserError."""
    from .analysis.factors import FactorResult
    from .modality import site_modality

    slug = pick_model(site_dir, model)
    record = read_site_record(cache, site_dir, slug)
    manifest = json.loads((model_dir(site_dir, slug) / MANIFEST).read_text())
    unavailable = site_modality(manifest).probe_unavailable
    if unavailable:
        raise UserError(f"{site_dir}: {unavailable}")
    if record.get("in_memory"):
        raise UserError(f"{site_dir}: built from a model object in Python; there is no checkpoint folder to load for probe")
    return record, FactorResult.load(Path(record["factors"]))


def site_model(record: dict[str, Any], device: str) -> Any:
    """The site's model (models.LoadedModel), loaded from the folder its build record names (a
    text model: ``site_factors`` turns the others away)."""
    from .modality import TEXT
    from .model.load import load_model

    return load_model(Path(record["model"]) if record["model"] else None, device, modality=TEXT)


def probe(site_dir: Path, text: str, cache: StageCache, factor: int | None, top: int, layer: int | None, device: str = "cpu",
          model: str | None = None) -> dict[str, Any]:
    """Activations of the factors of the site's model ``model`` (a slug; None: the only one) on ``text``.

    Returns {"tokens": [str] (T,), "layers": [int], and either "factor": c with
    "activations": (T, n_layers+1) list, or "top": per token, per layer, [(factor, value)]}.
    """
    import torch

    record, factors = site_factors(site_dir, cache, model)
    if factor is not None and not 0 <= factor < factors.n_components:
        raise UserError(f"--factor {factor}: the site has factors 0..{factors.n_components - 1}")
    n_layers = factors.is_.shape[1]
    layers = list(range(n_layers)) if layer is None else [layer]
    if layer is not None and not 0 <= layer < n_layers:
        raise UserError(f"--layer {layer}: the site has layers 0..{n_layers - 1}")
    if not text.strip():
        raise UserError("probe: the text is empty")
    loaded = site_model(record, device)
    enc = loaded.tokenizer(text, truncation=True, max_length=record.get("max_tokens", 512), return_tensors="pt")
    with torch.inference_mode():
        out = loaded.model(input_ids=enc["input_ids"].to(loaded.device), attention_mask=enc["attention_mask"].to(loaded.device), output_hidden_states=True)
    tokens = loaded.tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
    codes = {l: factors.encode(out.hidden_states[l][0].float().cpu().numpy(), l) for l in layers}  # l -> (T, m)
    result: dict[str, Any] = {"tokens": tokens, "layers": layers}
    if factor is not None:
        result["factor"] = factor
        result["level"] = str(factors.level[factor])
        result["activations"] = np.stack([codes[l][:, factor] for l in layers], 1).round(4).tolist()
    else:
        result["top"] = [
            {str(l): [(int(c), round(float(codes[l][t, c]), 4)) for c in np.argsort(-codes[l][t])[:top] if codes[l][t, c] > 0] for l in layers}
            for t in range(len(tokens))
        ]
    return result


def print_probe(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    print_explanation(console, result)  # what the factor's rule says, before its numbers on this text
    if "factor" in result:
        table = Table(title=f"factor {result['factor']} ({result['level']}) activation per token and layer")
        table.add_column("token")
        for l in result["layers"]:
            table.add_column(f"L{l}", justify="right")
        peak = max((max(row) for row in result["activations"]), default=0.0) or 1.0
        for token, row in zip(result["tokens"], result["activations"]):
            table.add_row(token, *[(f"[bold]{v:.3f}[/bold]" if v >= 0.5 * peak and v > 0 else f"{v:.3f}" if v > 0 else "·") for v in row])
    else:
        table = Table(title="strongest factors per token (factor:activation)")
        table.add_column("token")
        for l in result["layers"]:
            table.add_column(f"L{l}")
        for token, per_layer in zip(result["tokens"], result["top"]):
            table.add_row(token, *[" ".join(f"{c}:{v:.2f}" for c, v in per_layer[str(l)]) or "·" for l in result["layers"]])
    console.print(table)


def print_explanation(console: Any, result: dict[str, Any]) -> None:
    """The factor's explanation at its peak layer (the primary one: the rule's, or the LLM's when it
    scores higher), with its held-out scores, then the other kind's (if the site has one)."""
    e = result.get("explanation")
    if e is None:
        return
    score = "not scored" if e["score"] is None else f"score {e['score']:.2f}, its token alone {_fmt(e['one_token_score'])}"
    console.print(f"factor {result['factor']} at layer {e['layer']}: {e['text']} ({e['kind']}; {score}{_fuzz(e)})", markup=False)
    other = e.get("other")
    if other is not None:
        console.print(f"  {other['kind']} explanation: {other['text']} (score {_fmt(other['score'])}{_fuzz(other)})", markup=False)


def _fuzz(e: dict[str, Any]) -> str:
    return f", fuzzing {_fmt(e['fuzzing_score'])}" if e.get("fuzzing_score") is not None else ""


def print_head(result: dict[str, Any]) -> None:
    """``probe --head`` as tables: the head's QK pairs by weights and its OV pairs."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    induction = result["induction_score"]
    console.print(f"layer {result['layer']} head {result['head']}: {result['label']}"
                  + (f", induction score {induction:.3f}" if induction is not None else ""))
    qk = Table(title=f"reads (QK, top pairs by weights); agreement with the data {_fmt(result['qk_agreement'])}")
    for name in ("query factor", "key factor", "weight score", "data share"):
        qk.add_column(name, justify="right")
    for p in result["qk_pairs"]:
        qk.add_row(str(p["query_factor"]), str(p["key_factor"]), _fmt(p["weight_score"]), _fmt(p["data_share"]))
    ov = result["ov_ablation"]
    table = Table(title=f"writes (OV, top pairs); mean ablation drop {_fmt(ov['top_pairs_drop'])} (random pairs {_fmt(ov['random_pairs_drop'])})")
    for name in ("read factor", "written factor", "weight", "ablation drop"):
        table.add_column(name, justify="right")
    for p in result["ov_pairs"]:
        table.add_row(str(p["read_factor"]), str(p["write_factor"]), _fmt(p["weight"]), _fmt(p["ablation_drop"]))
    console.print(qk)
    console.print(table)


def print_output_tokens(result: dict[str, Any]) -> None:
    """``probe --factor F`` without text: the factor's output tokens."""
    from rich.console import Console

    out = result["output_tokens"]
    console = Console()
    print_explanation(console, result)
    if out is None:
        console.print(f"factor {result['factor']}: the site was built without output tokens (rebuild it)")
    elif out["kind"] is None:
        console.print(f"factor {result['factor']}: no output tokens: {out['reason']}")
    else:
        what = {"unembedding": "through the unembedding (logit per unit)", "embedding": "nearest input embeddings (cosine)"}[out["kind"]]
        console.print(f"factor {result['factor']} at layer {out['layer']}, {what}")
        for side in ("promoted", "suppressed"):
            if out[side]:
                console.print(f"  {side}: " + "  ".join(f"{token} {value:+.3f}" for token, value in out[side]), markup=False)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"


# ----------------------------------------------------------------------------- --labels: concept probes

def probe_labels(site_dir: Path, labels_file: Path, cache: StageCache, layer: int | None, device: str = "cpu", seed: int = 0,
                 model: str | None = None) -> tuple[Any, np.ndarray]:
    """The concept probe (concepts.py) of a labelled JSONL file on a built site: per layer the
    single factor that best separates the labels vs the raw hidden state. Returns
    (concepts.ConceptResult, the level of every factor (m,))."""
    from .analysis.concepts import probe_concepts, read_labels

    record, factors = site_factors(site_dir, cache, model)
    n_layers = factors.is_.shape[1]
    if layer is not None and not 0 <= layer < n_layers:
        raise UserError(f"--layer {layer}: the site has layers 0..{n_layers - 1}")
    labelled = read_labels(labels_file)
    labelled.check_counts()  # before loading the model: a bad file fails fast
    result = probe_concepts(site_model(record, device), factors, labelled, None if layer is None else [layer], record.get("max_tokens", 512), seed)
    return result, factors.level


def print_concepts(result: Any, factors_level: Any = None) -> None:
    """The concept probe as a rich table: per layer the chosen factor and its held-out F1 next to
    the raw-state ceiling; the best layer in bold."""
    from rich.console import Console
    from rich.table import Table

    counts = ", ".join(f"{label} ({n})" for label, n in result.counts.items())
    table = Table(title=f"Concept probe: {counts}; {result.metric}, held-out (2 folds, swapped)",
                  caption=f"n = {result.n} examples; majority-class baseline {result.majority_f1:.3f}"
                          + (f"; {len(result.skipped)} skipped" if result.skipped else ""))
    table.add_column("layer", justify="right")
    table.add_column("factor", justify="right")
    table.add_column("F1 one factor", justify="right")
    table.add_column("F1 raw state", justify="right")
    table.add_column("folds chose")
    best = max(range(len(result.layers)), key=lambda i: result.layers[i]["f1"])
    for i, row in enumerate(result.layers):
        style = "bold" if i == best else None
        factor = "–" if row["factor"] is None else str(row["factor"])
        if factors_level is not None and row["factor"] is not None:
            factor += f" ({factors_level[row['factor']]})"
        chose = " / ".join("–" if f["factor"] is None else str(f["factor"]) for f in row["folds"])
        table.add_row(str(row["layer"]), factor, f"{row['f1']:.3f}", f"{row['f1_raw']:.3f}", chose, style=style)
    Console().print(table)
