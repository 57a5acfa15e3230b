"""learn_factors (the stage) and FactorResult (its loadable output)."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

from ...heap import release_freed_memory
from ...progress import Reporter
from .config import FactorConfig
from .inference import InferenceJob, ShardRunner, load_partial, run_inference, save_partial
from .statistics import (
    FORMULAS,
    Encoder,
    assign_levels,
    cosine_neighbors,
    fit_learner,
    importance_scores,
    layer_stats,
    make_transform,
    peak_layers,
    quality,
    state_norms,
    training_sample,
)

if TYPE_CHECKING:
    from ...capture.extract import ActivationStore


def _dictionary(store: ActivationStore, cfg: FactorConfig, out_dir: Path, reporter: Reporter, stats: dict[str, np.ndarray], mean: np.ndarray,
                scale: np.ndarray, timings: dict[str, float]) -> tuple[np.ndarray, dict[str, np.ndarray] | None, int]:
    """The learned dictionary: (components (m, d), the SAE's arrays or None, atoms resampled),
    learned on a training sample and saved to model.safetensors (+ trained.json, the resume
    point), or read back from there when a killed build got that far. Adds to ``timings``."""
    trained = out_dir / "trained.json"
    if trained.exists():  # a resumed build: the dictionary was learned before the kill
        tensors = load_file(str(out_dir / "model.safetensors"))
        components = tensors["components"]
        sae = {k: tensors[k] for k in ("W_enc", "b_enc", "b_dec")} if cfg.method == "topk-sae" else None
        done = json.loads(trained.read_text())
        timings["learn"], n_resampled = done["learn"], done["n_resampled"]
    else:
        t = time.perf_counter()
        X = training_sample(store, cfg, mean, scale, stats["massive"])
        timings["preprocess"] += time.perf_counter() - t
        t = time.perf_counter()
        learner = fit_learner(X, cfg, reporter, store.info.d_model)
        del X
        release_freed_memory()  # training's freed heap would otherwise sit under inference's peak
        timings["learn"] = time.perf_counter() - t
        components = np.ascontiguousarray(learner.components_, dtype=np.float32)
        sae = None
        if cfg.method == "topk-sae":
            sae = {"W_enc": learner.W_enc_, "b_enc": learner.b_enc_, "b_dec": learner.b_dec_}
        n_resampled = int(getattr(learner, "n_resampled_", 0))
        tensors = {"components": components, "mean": mean, "scale": scale, "massive_norm": stats["massive_norm"]}
        if sae is not None:
            tensors.update({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sae.items()})
        save_file(tensors, str(out_dir / "model.safetensors"))
        if sae is not None:  # code with the saved arrays, as a resumed build does
            sae = {k: tensors[k] for k in sae}
        trained.write_text(json.dumps({"learn": timings["learn"], "n_resampled": n_resampled}))
    return components, sae, n_resampled


def _save_stats(out_dir: Path, raw: dict[str, Any], stats: dict[str, np.ndarray], IS: np.ndarray, spread: np.ndarray, nbr: np.ndarray,
                nbr_cos: np.ndarray, levels: np.ndarray) -> None:
    """stats.npz (run/build.py lists its arrays) from the merged inference statistics ``raw``."""
    np.savez(
        out_dir / "stats.npz",
        is_=IS,
        density=(raw["active"] / np.maximum(stats["n_kept"], 1)).astype(np.float32),
        active=raw["active"],
        spread=spread.astype(np.float32),
        hist=raw["hist"],
        hist_edges=raw["hist_edges"],
        l0_hist=raw["l0_hist"],
        max_act=raw["max_act"].astype(np.float32),
        topk_values=raw["topk_values"],
        topk_token=raw["topk_token"],
        neighbors=nbr,
        neighbor_cos=nbr_cos,
        levels=levels,
        **{name: raw[name] for name in BY_PRODUCTS},
    )


def learn_factors(store: ActivationStore, cfg: FactorConfig, out_dir: Path, reporter: Reporter, tokens_per_shard: int = 1 << 17,
                  run_shards: ShardRunner = None) -> "FactorResult":
    """``fit_factors`` into ``out_dir``, then its result read from there."""
    fit_factors(store, cfg, out_dir, reporter, tokens_per_shard, run_shards)
    return FactorResult.load(out_dir)


def fit_factors(store: ActivationStore, cfg: FactorConfig, out_dir: Path, reporter: Reporter, tokens_per_shard: int = 1 << 17,
                run_shards: ShardRunner = None) -> None:
    """Fit preprocessing + dictionary on ``store`` (an ActivationStore), code every token at
    every layer, and write the result into ``out_dir`` (see run/build.py for the files), which
    ``FactorResult.load`` reads. The build's stage runner loads it from the cache folder the
    work folder becomes, so the stage writes here and reads nothing back.

    Resumable: each finished step leaves its file in ``out_dir`` (layer_stats.npz, then
    model.safetensors + trained.json, then one inference partial per shard under inference/),
    and a rerun into the same folder after a kill continues from there. ``tokens_per_shard``
    sizes the inference shards (memory and resume granularity; never the result);
    ``run_shards`` runs them elsewhere (see inference.run_inference)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    stats_file = out_dir / "layer_stats.npz"
    if stats_file.exists():
        stats = load_partial(stats_file)
    else:
        stats = layer_stats(store, reporter, cfg.massive_ratio)
        save_partial(stats_file, stats)
    mean, scale = make_transform(stats, cfg.preprocess)
    timings["preprocess"] = time.perf_counter() - t

    components, sae, n_resampled = _dictionary(store, cfg, out_dir, reporter, stats, mean, scale, timings)

    t = time.perf_counter()
    enc = Encoder(cfg, components, sae)
    partials = out_dir / "inference"
    partials.mkdir(exist_ok=True)
    job = InferenceJob(store.path, out_dir / "model.safetensors", cfg) if run_shards is not None else None
    raw = run_inference(store, cfg, enc, mean, scale, reporter, partials, tokens_per_shard, job, run_shards, stats["massive_norm"])
    shutil.rmtree(partials)  # merged: the partials would only take disk space
    timings["inference"] = time.perf_counter() - t

    L1 = store.info.n_layers + 1
    IS = importance_scores(raw["topk_values"])
    spread = raw["pairs"] / np.maximum(raw["act_nonlast"], 1)
    low_max = cfg.level_low_max_layer if cfg.level_low_max_layer is not None else store.info.n_layers // 3
    levels = assign_levels(IS, spread, low_max, cfg.level_spread_threshold)
    nbr, nbr_cos = cosine_neighbors(components)
    q = quality(raw, stats, store.n_tokens, cfg.dense_threshold)

    for name in ("layer_stats.npz", "trained.json"):  # resume points, not part of the result
        (out_dir / name).unlink()
    _save_stats(out_dir, raw, stats, IS, spread, nbr, nbr_cos, levels)
    metrics = {
        "quality": q,
        "timings": {**timings, "inference_loop": raw["seconds"]},
        "n_tokens": store.n_tokens,
        "n_sentences": store.n_sentences,
        "n_layers": L1,
        "d_model": store.info.d_model,
        "level_low_max_layer": low_max,
        "n_resampled": n_resampled,
        "units": "activations are lasso / SAE coefficients in the preprocessed space of their layer: "
                 "z = (x - mean_l) / scale_l, x_hat = mean_l + scale_l * (a @ components)",
        "formulas": FORMULAS,
    }
    (out_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    reporter.log(
        f"factors: FVU {q['overall']['fvu']:.3f} (original units {q['overall']['fvu_original']:.3f}), "
        f"L0 {q['overall']['l0_mean']:.1f}, dead {q['overall']['dead_fraction']:.1%}, "
        f"learn {timings['learn']:.0f}s, inference {timings['inference']:.0f}s"
    )


#: The inference pass's by-products kept in stats.npz (samples.py): token factors, then samples.
BY_PRODUCTS = ("token_top_ids", "token_top_values", "sample_priority", "sample_row", "sample_value")


@dataclass
class FactorResult:
    """Everything the factor stage produced (arrays as numpy).

    config: FactorConfig; components (m, d) unit rows (``dictionary`` = Phi = components.T,
    (d, m)); mean, scale (L+1, d) the per-layer transform; massive_norm (L+1,) the norm above
    which a state of the layer is a massive activation and gets no codes (inf: none); sae: TopK-SAE encoder params or None;
    is_ (m, L+1) importance scores; peak_layer (m,); level (m,) str; density (m, L+1) fraction
    of tokens active per layer (``density_all`` (m,) over all layers); spread (m, L+1);
    hist (m, L+1, bins) counts of positive activations in log bins ``hist_edges`` (bins+1,);
    l0_hist (L+1, m+1); max_act (m, L+1); topk_values (L+1, m, k), topk_token (L+1, m, k)
    global token rows (-1 = none); neighbors / neighbor_cos (m, 10); metrics (dict);
    token_top_ids (L+1, n_tokens, 3) int32 / token_top_values float32: each token's strongest
    factors; samples: activation samples per (layer, factor, bin) (samples.py); both None in a
    result written before they existed.
    """

    config: FactorConfig
    components: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    massive_norm: np.ndarray
    sae: dict[str, np.ndarray] | None
    is_: np.ndarray
    level: np.ndarray
    density: np.ndarray
    active: np.ndarray
    spread: np.ndarray
    hist: np.ndarray
    hist_edges: np.ndarray
    l0_hist: np.ndarray
    max_act: np.ndarray
    topk_values: np.ndarray
    topk_token: np.ndarray
    neighbors: np.ndarray
    neighbor_cos: np.ndarray
    metrics: dict[str, Any]
    token_top_ids: np.ndarray | None = None
    token_top_values: np.ndarray | None = None
    samples: dict[str, np.ndarray] | None = None
    path: Path | None = None
    _encoder: Any = field(default=None, repr=False)

    @classmethod
    def load(cls, path: Path) -> "FactorResult":
        path = Path(path)
        cfg = FactorConfig.from_dict(json.loads((path / "config.json").read_text()))
        t = load_file(str(path / "model.safetensors"))
        sae = {k: t[k] for k in ("W_enc", "b_enc", "b_dec")} if "W_enc" in t else None
        s = np.load(path / "stats.npz")
        return cls(
            config=cfg, components=t["components"], mean=t["mean"], scale=t["scale"], sae=sae,
            massive_norm=t.get("massive_norm", np.full(len(t["mean"]), np.inf)),
            is_=s["is_"], level=s["levels"], density=s["density"], active=s["active"], spread=s["spread"],
            hist=s["hist"], hist_edges=s["hist_edges"], l0_hist=s["l0_hist"], max_act=s["max_act"],
            topk_values=s["topk_values"], topk_token=s["topk_token"], neighbors=s["neighbors"],
            neighbor_cos=s["neighbor_cos"], metrics=json.loads((path / "metrics.json").read_text()), path=path,
            **({"token_top_ids": s["token_top_ids"], "token_top_values": s["token_top_values"],
                "samples": {name: s[name] for name in BY_PRODUCTS[2:]}} if "token_top_ids" in s.files else {}),
        )

    @property
    def dictionary(self) -> np.ndarray:
        """Phi, (d, m): column c is factor c (unit norm)."""
        return self.components.T

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    @property
    def peak_layer(self) -> np.ndarray:
        return peak_layers(self.is_)

    @property
    def density_all(self) -> np.ndarray:
        """(m,) fraction of the coded (token, layer) pairs (massive activations aside) where the
        factor is active."""
        coded = self.metrics["n_tokens"] * self.is_.shape[1] - self.metrics["quality"]["overall"].get("massive", 0)
        return self.active.sum(1) / max(coded, 1)

    def transform_states(self, hidden_states: np.ndarray, layer: int) -> np.ndarray:
        """(n, d) states of ``layer`` -> (n, d) preprocessed z."""
        return (np.asarray(hidden_states, dtype=np.float32) - self.mean[layer]) / self.scale[layer]

    def encode(self, hidden_states: np.ndarray, layer: int, batch_size: int = 2048) -> np.ndarray:
        """(n, d) hidden states at ``layer`` -> (n, m) factor activations in reported units
        (the same coding as the build used: FISTA lasso or the SAE encoder; a massive
        activation, norm above ``massive_norm[layer]``, gets none)."""
        out = np.empty((len(hidden_states), self.n_components), dtype=np.float32)
        with torch.no_grad():
            for lo, z in self._preprocessed_batches(hidden_states, layer, batch_size):
                out[lo : lo + len(z)] = self._encoder.codes(z).cpu().numpy()
        out[self._massive(hidden_states, layer)] = 0.0
        return out

    def encode_sparse(self, hidden_states: np.ndarray, layer: int, batch_size: int = 2048) -> Any:
        """``encode`` as a scipy CSR (n, m) float32 matrix, made without the dense (n, m) array:
        the non-zero codes only (about k of m per row)."""
        from scipy import sparse

        massive = self._massive(hidden_states, layer)
        rows, cols, values = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.float32)]
        with torch.no_grad():
            for lo, z in self._preprocessed_batches(hidden_states, layer, batch_size):
                r, c, v = (t.cpu().numpy() for t in self._encoder.sparse_codes(z))
                keep = ~massive[lo + r]
                rows.append(lo + r[keep])
                cols.append(c[keep])
                values.append(v[keep].astype(np.float32))
        return sparse.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                                 shape=(len(hidden_states), self.n_components))

    def _preprocessed_batches(self, hidden_states: np.ndarray, layer: int, batch_size: int) -> Iterator[tuple[int, torch.Tensor]]:
        """(first row, z (<= batch_size, d) on the encoder's device) over the preprocessed states."""
        if self._encoder is None:
            self._encoder = Encoder(self.config, self.components, self.sae)
        z = self.transform_states(hidden_states, layer)
        for lo in range(0, z.shape[0], batch_size):
            yield lo, torch.from_numpy(np.ascontiguousarray(z[lo : lo + batch_size])).to(self._encoder.device)

    def _massive(self, hidden_states: np.ndarray, layer: int) -> np.ndarray:
        """(n,) bool: the massive activations of ``layer``, which get no codes."""
        return state_norms(hidden_states) > self.massive_norm[layer]

    def reconstruct(self, codes: np.ndarray, layer: int) -> np.ndarray:
        """(n, m) codes -> (n, d) states in original units at ``layer``."""
        zh = np.asarray(codes, dtype=np.float32) @ self.components
        if self.sae is not None:
            zh = zh + self.sae["b_dec"]
        return self.mean[layer] + self.scale[layer] * zh
