"""LIME token saliency for factor activations (Ribeiro et al. 2016, as used by Yun et al. 2021).

For a context (sentence s, token position p) of factor c at layer l: perturbed copies of the
sentence have random subsets of their tokens replaced by a mask token ([UNK] by default); the
factor's activation at (p, l) is recomputed for each copy, and a locally weighted ridge
regression of activation on the keep-mask gives one weight per token: positive = the token
drives the factor, negative = it suppresses it.

Cheap by sharing: the perturbations of one sentence are run once, through the model only up to
the deepest layer needed, and every factor whose top contexts use that sentence reads its
activation from the same codes. For a causal (decoder) model the copies are also cut after the
last explained position, and a context's features are only the tokens up to it: later tokens
cannot change its activation.
"""

from __future__ import annotations

import heapq
import json
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ...progress import Reporter
from ...stage_config import StageConfig

if TYPE_CHECKING:
    from torch import nn
    from ...executor import Executor
    from ...capture.extract import ActivationStore
    from ...model.load import LoadedModel
    from .stage import FactorResult

COVERAGE = ("mid-high", "all", "none")


@dataclass(frozen=True)
class LimeConfig(StageConfig):
    """coverage: which factors get LIME ("mid-high": levels mid and high; "all"; "none").
    contexts: contexts per factor, at its peak layer, chosen among its top ``candidates`` so that
    factors share sentences; max_sentences: the budget (one batch of perturbations each). samples: perturbed copies per sentence
    (the unperturbed sentence is always added). keep_prob: chance a token is kept in a copy.
    mask_token: replacement token (None = the tokenizer's unk token, else its pad token).
    kernel_width: of the exponential kernel on the cosine distance to the original (LIME's
    text default is 25 with that distance times 100; we use 0.25 on the plain distance).
    alpha: ridge penalty. batch_size: copies per forward pass. precision: of the copies' forward
    passes on a CPU: "fp32", "bf16" (autocast) or "auto" (bf16 where the CPU multiplies bf16
    natively, AVX512-BF16 or AMX, else fp32: MiniLM's default stage in 0.58x the time, DINOv2's
    in 0.49x, weights correlated with fp32's at 0.9998 and 0.995 in the 5th-percentile context;
    docs/factors.md "LIME in bf16"). "auto" is resolved when the config is made, so the manifest
    and the cache key say which ran. On CUDA the passes always autocast."""

    coverage: str = "mid-high"
    contexts: int = 3
    candidates: int = 20
    # 96 copies, not 48: two seeds' token weights agree far better (Spearman over the tokens
    # 0.18 -> 0.34; Pearson with the paper's 2001-copy reference 0.88 -> 0.955, 50 contexts) and a
    # sentence costs 2.2x, so 225 sentences instead of 400 (the stage ~1.25x dearer;
    # bench/lime_stability.py, docs/factors.md "LIME stability").
    max_sentences: int = 225
    samples: int = 96
    keep_prob: float = 0.7
    mask_token: str | None = None
    kernel_width: float = 0.25
    alpha: float = 1.0
    batch_size: int = 128
    seed: int = 0
    precision: str = "auto"

    def __post_init__(self) -> None:
        from ...capture.extract import resolved_precision

        object.__setattr__(self, "precision", resolved_precision(self.precision, "lime precision"))
        if self.coverage not in COVERAGE:
            raise ValueError(f"lime coverage must be one of {', '.join(COVERAGE)}, not {self.coverage!r}")
        if self.contexts < 1 or self.samples < 8:
            raise ValueError("lime contexts must be >= 1 and samples >= 8")
        if not 0 < self.keep_prob < 1:
            raise ValueError("lime keep_prob must be between 0 and 1")

    @classmethod
    def for_preset(cls, preset: str, **overrides: Any) -> "LimeConfig":
        presets = {
            "quick": {"contexts": 2, "samples": 32, "max_sentences": 40},
            "default": {},
            "full": {"coverage": "all", "contexts": 10, "candidates": 50, "samples": 128, "max_sentences": 1_000_000},
        }
        return cls(**{**presets[preset], **overrides})


def lime_weights(masks: np.ndarray, values: np.ndarray, kernel_width: float, alpha: float) -> np.ndarray:
    """Locally weighted ridge regression of ``values`` on ``masks``.

    masks: (n_samples, n_features) in {0, 1}, row 0 may be the all-ones original;
    values: (n_samples,) or (n_samples, n_targets). Returns (n_features,) or
    (n_targets, n_features) coefficients; the intercept is fitted and not penalised.
    Sample weights: exp(-d^2 / kernel_width^2), d = cosine distance of the mask to all-ones.
    """
    X = np.asarray(masks, dtype=np.float64)
    Y = np.asarray(values, dtype=np.float64)
    single = Y.ndim == 1
    Y = Y[:, None] if single else Y
    kept = X.sum(1)
    cos = kept / np.sqrt(np.maximum(kept, 1e-12) * X.shape[1])
    w = np.exp(-((1.0 - cos) ** 2) / kernel_width**2)
    w = w / w.sum()
    x_mean = w @ X
    y_mean = w @ Y
    Xc = X - x_mean
    Yc = Y - y_mean
    gram = (Xc * w[:, None]).T @ Xc + alpha / len(X) * np.eye(X.shape[1])
    coef = np.linalg.solve(gram, (Xc * w[:, None]).T @ Yc).T  # (n_targets, n_features)
    return coef[0] if single else coef


def _blocks(model: nn.Module, n_layers: int) -> nn.ModuleList:
    """The ModuleList of transformer blocks (BERT encoder.layer, GPT-2 h, Llama layers, ...)."""
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n_layers:
            return module
    raise RuntimeError("cannot find the model's list of transformer blocks")


class _Stop(Exception):
    pass


def hidden_states_at(loaded: LoadedModel, inputs: dict[str, Any], layers: list[int], precision: str = "fp32") -> dict[int, Any]:
    """Hidden states (batch, seq, d) at each hidden-state index in ``layers`` (0 = embeddings),
    running the blocks only up to the deepest one: hidden state l is the input of block l.
    ``inputs``: the model's keyword inputs (input_ids + attention_mask, or pixel_values);
    ``precision``: "fp32" or "bf16" on a CPU (LimeConfig.precision)."""
    import torch

    from ...capture.extract import autocast  # bf16 on CUDA, as in extraction; on CPU as asked

    n_layers = loaded.info.n_layers
    deepest = max(layers)
    if deepest >= n_layers:  # the last state comes after the final norm, if any: run everything
        with torch.inference_mode(), autocast(loaded.device, precision):
            out = loaded.model(**inputs, output_hidden_states=True)
        return {layer: out.hidden_states[layer] for layer in layers}
    blocks = _blocks(loaded.model, n_layers)
    captured: dict[int, Any] = {}

    def grabber(layer: int):
        def grab(module, args, kwargs):
            captured[layer] = args[0] if args else kwargs["hidden_states"]
            if layer == deepest:
                raise _Stop

        return grab

    handles = [blocks[layer].register_forward_pre_hook(grabber(layer), with_kwargs=True) for layer in sorted(set(layers))]
    try:
        with torch.inference_mode(), autocast(loaded.device, precision):
            loaded.model(**inputs)
    except _Stop:
        pass
    finally:
        for handle in handles:
            handle.remove()
    return captured


class Masker(Protocol):
    """How LIME perturbs one sequence (TokenMasker, PatchMasker)."""

    #: what the manifest says a weight means ("rather than replaced by ...")
    meaning: str
    #: the name of what replaces a dropped unit
    mask_name: str
    #: whether later units cannot reach an earlier one (a decoder's tokens): LIME then runs the
    #: prefix up to the last explained position only and weighs the units up to each position
    causal: bool

    def free_units(self, lo: int, hi: int) -> np.ndarray:
        """(n_free,) int: the features of the regression for the sequence at store rows [lo, hi)."""
        ...

    def unit_weights(self, free: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Regression weights (n_free,) -> (unit positions (n,), their weights (n,))."""
        ...

    def perturbed(self, lo: int, hi: int, sequence: int, free: np.ndarray, keep: np.ndarray) -> Any:
        """A function rows -> model inputs of the perturbed copies ``keep[rows]`` ((n_copies, n_free) bool)."""
        ...


class MaskerKind(Protocol):
    """What LIME asks of the model's modality (a ``modality.Modality`` is one, passed down by the
    build): the masker of its units and what a sequence is called in the log."""

    sequence_noun: str

    def make_masker(self, loaded: LoadedModel, store: ActivationStore, cfg: LimeConfig) -> Masker:
        """The LIME masker of the store's sequences."""
        ...


def _mask_id(tokenizer: Any, mask_token: str | None) -> int:
    if mask_token is not None:
        tid = tokenizer.convert_tokens_to_ids(mask_token)
        if tid is None or (tokenizer.unk_token_id is not None and tid == tokenizer.unk_token_id and mask_token != tokenizer.unk_token):
            raise ValueError(f"lime mask_token {mask_token!r} is not in the vocabulary")
        return int(tid)
    for tid in (tokenizer.unk_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id):
        if tid is not None:
            return int(tid)
    raise ValueError("the tokenizer has no unk, pad or eos token to mask with; set lime mask_token")


class TokenMasker:
    """Text LIME (a ``Masker``): a dropped token is replaced by the mask token; special
    tokens always stay. A decoder's tokens are causal: later ones cannot reach an earlier one."""

    #: What the manifest says a weight means.
    meaning = "rather than replaced by the mask token"

    def __init__(self, loaded: LoadedModel, store: ActivationStore, cfg: LimeConfig):
        self.causal = bool(store.info.is_causal)
        self.device = loaded.device
        self.token_ids = store.tokens.column("token_id").to_numpy()
        self.special = store.tokens.column("is_special").to_numpy(zero_copy_only=False)
        self.mask_id = _mask_id(loaded.tokenizer, cfg.mask_token)
        self.mask_name = loaded.tokenizer.convert_ids_to_tokens(self.mask_id)

    def free_units(self, lo: int, hi: int) -> np.ndarray:
        """Positions (within the sequence at store rows [lo, hi)) that perturbations may drop."""
        return np.flatnonzero(~self.special[lo:hi])

    def unit_weights(self, free: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Regression weights -> (unit positions, their weights): one token, one feature."""
        return free, weights

    def perturbed(self, lo: int, hi: int, sequence: int, free: np.ndarray, keep: np.ndarray) -> Any:
        """A function batch(rows) -> model inputs of the perturbed copies ``keep[rows]``."""
        import torch

        batch = np.repeat(self.token_ids[lo:hi][None, :], len(keep), axis=0)
        batch[:, free] = np.where(keep, batch[:, free], self.mask_id)

        def inputs(rows: slice) -> dict[str, Any]:
            ids = torch.as_tensor(batch[rows], dtype=torch.long, device=self.device)
            return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}

        return inputs


class PatchMasker:
    """Image LIME (a ``Masker``) by masking square blocks of patches: a dropped block is set to the normalised
    value 0, the image processor's mean colour (a neutral grey). Patches rather than
    superpixels: they are the model's own units, every perturbation is exactly what the model
    can see, and no segmentation is needed. Blocks of b x b patches (b chosen so that an image
    has at most ``max_features`` of them; DINOv2's 16 x 16 grid -> 8 x 8 blocks of 2 x 2)
    because a regression on 256 single patches from a few dozen perturbed copies is mostly
    noise; each patch reports its block's weight. CLS / register tokens have no pixels and
    always stay."""

    meaning = "rather than replaced by the processor's mean colour (patch masking)"
    mask_name = "mean-colour patch block"
    max_features = 64
    #: the features are blocks all over the image (a vision encoder sees them all): no prefix to cut
    causal = False

    def __init__(self, loaded: LoadedModel, store: ActivationStore, cfg: LimeConfig):
        processor = loaded.processor
        self.device = loaded.device
        self.images = store.images()
        self.mean = np.asarray(getattr(processor, "image_mean", [0.5, 0.5, 0.5]), np.float32).reshape(3, 1, 1)
        self.std = np.asarray(getattr(processor, "image_std", [0.5, 0.5, 0.5]), np.float32).reshape(3, 1, 1)
        self.patch = store.image["patch_size"]
        self.rows, self.cols = store.image["grid"]
        self.n_prefix = store.image["n_prefix_tokens"]
        self.block = int(np.ceil(np.sqrt(self.rows * self.cols / self.max_features)))
        r, c = np.divmod(np.arange(self.rows * self.cols), self.cols)
        #: (rows * cols,) block index of every patch, blocks row-major
        self.block_of = (r // self.block) * -(-self.cols // self.block) + c // self.block
        self.n_blocks = int(self.block_of.max()) + 1

    def free_units(self, lo: int, hi: int) -> np.ndarray:
        """The blocks (features of the regression), numbered 0..n_blocks-1."""
        return np.arange(self.n_blocks)

    def unit_weights(self, free: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Block weights -> (patch unit positions, the weight of each patch's block)."""
        return self.n_prefix + np.arange(self.rows * self.cols), weights[self.block_of]

    def perturbed(self, lo: int, hi: int, sequence: int, free: np.ndarray, keep: np.ndarray) -> Any:
        import torch

        pixels = (self.images[sequence].transpose(2, 0, 1).astype(np.float32) / 255.0 - self.mean) / self.std  # (3, H, W)
        p = self.patch

        def inputs(rows: slice) -> dict[str, Any]:
            # keep-mask of blocks -> of patches (rows, cols) -> of pixels (each patch p x p)
            cells = keep[rows][:, self.block_of].reshape(-1, self.rows, self.cols)
            mask = cells.repeat(p, axis=1).repeat(p, axis=2)[:, None].astype(np.float32)
            return {"pixel_values": torch.as_tensor(pixels[None] * mask, device=self.device)}

        return inputs


def select_contexts(factors: FactorResult, cfg: LimeConfig, sentence_of: np.ndarray) -> list[tuple[int, int, int]]:
    """(factor, layer, global token row) for every context that gets LIME.

    Each covered factor wants ``cfg.contexts`` contexts at its peak layer, taken from its top
    ``cfg.candidates`` contexts. The cost is one batch of perturbations per *sentence*, so
    sentences are chosen greedily, the one serving the most still-wanted contexts first, until
    every factor is served or ``cfg.max_sentences`` is reached: many factors share sentences.
    """
    if cfg.coverage == "none":
        return []
    levels = np.asarray(factors.level).astype(str)
    chosen = np.arange(len(levels)) if cfg.coverage == "all" else np.flatnonzero(np.isin(levels, ["mid", "high"]))
    peak = factors.peak_layer
    candidates: dict[int, list[tuple[int, int]]] = defaultdict(list)  # sentence -> [(factor, row)]
    for c in chosen:
        rows = factors.topk_token[peak[c], c, : cfg.candidates]
        for row in rows[rows >= 0]:
            candidates[int(sentence_of[row])].append((int(c), int(row)))
    need = {int(c): cfg.contexts for c in chosen}
    picked: list[tuple[int, int, int]] = []
    n_sentences = 0
    # Lazy greedy: a sentence's gain only shrinks as factors get served, so a stale heap entry
    # is re-scored when popped and pushed back if it no longer leads.
    heap = [(-len(v), s) for s, v in candidates.items()]
    heapq.heapify(heap)
    while heap and n_sentences < cfg.max_sentences:
        neg_gain, s = heapq.heappop(heap)
        useful = [(c, row) for c, row in candidates[s] if need[c] > 0]
        if not useful:
            continue
        if len(useful) < -neg_gain:
            heapq.heappush(heap, (-len(useful), s))
            continue
        for c, row in useful:
            if need[c] > 0:  # a sentence may hold several of one factor's candidates
                need[c] -= 1
                picked.append((c, int(peak[c]), row))
        n_sentences += 1
    return sorted(picked)


class LimeWorker:
    """What explaining a sentence needs, built once per worker: the model, the masker of the
    store's units (from the model's ``modality``) and the factors' encoder."""

    def __init__(self, loaded: LoadedModel, store: ActivationStore, factors: FactorResult, cfg: LimeConfig, modality: MaskerKind):
        self.loaded, self.factors, self.cfg = loaded, factors, cfg
        self.masker: Masker = modality.make_masker(loaded, store, cfg)


def lime_worker_from_paths(loader: Any, store_path: Path, factors_path: Path, cfg: LimeConfig, modality: MaskerKind) -> LimeWorker:
    """A LimeWorker in another process (a Ray actor): the model from its loader, the store and
    the factors from the cache folder (shared storage on a cluster)."""
    from ...capture.extract import ActivationStore
    from .stage import FactorResult

    return LimeWorker(loader(), ActivationStore(store_path), FactorResult.load(factors_path), cfg, modality)


def explain_sentence(worker: LimeWorker, job: tuple[int, int, int, list[tuple[int, int, int]], np.ndarray]) -> dict[str, np.ndarray]:
    """LIME of every context of one sentence (or image).

    job: (sequence s, store rows lo, hi of the units fed to the model, targets [(factor, layer,
    position)], keep (n_copies, n_free) bool, row 0 = the original). Returns the rows of
    lime.parquet for this sentence as NumPy columns (see ``compute_lime``)."""
    s, lo, hi, targets, keep = job
    loaded, masker, cfg = worker.loaded, worker.masker, worker.cfg
    free = masker.free_units(lo, hi)
    inputs = masker.perturbed(lo, hi, s, free, keep)
    # per layer, only the positions explained at that layer are coded: a copy's codes cost
    # 2·d·m FLOPs per (position, layer), as much as its forward pass for a wide dictionary
    positions = {layer: sorted({p for _, l, p in targets if l == layer}) for layer in sorted({l for _, l, _ in targets})}
    chunks: dict[int, list[np.ndarray]] = defaultdict(list)
    for start in range(0, len(keep), cfg.batch_size):
        for layer, h in hidden_states_at(loaded, inputs(slice(start, start + cfg.batch_size)), list(positions), cfg.precision).items():
            chunks[layer].append(h[:, positions[layer]].float().cpu().numpy())
    codes = {}  # layer -> (n_copies, positions explained at the layer, m)
    for layer, at in positions.items():
        states = np.concatenate(chunks[layer])
        codes[layer] = worker.factors.encode(states.reshape(-1, states.shape[-1]), layer).reshape(len(keep), len(at), -1)
    cols: dict[str, list] = defaultdict(list)
    for c, layer, p in targets:
        y = codes[layer][:, positions[layer].index(p), c]
        # Causal: tokens after p cannot move its activation; they are not features (weight 0)
        visible = free <= p if masker.causal else slice(None)
        units, weights = masker.unit_weights(free[visible], lime_weights(keep[:, visible].astype(np.float64), y, cfg.kernel_width, cfg.alpha))
        n = len(units)
        cols["factor"] += [c] * n
        cols["layer"] += [layer] * n
        cols["sentence_id"] += [s] * n
        cols["position"] += [p] * n
        cols["token"] += units.tolist()
        cols["weight"] += weights.astype(np.float32).tolist()
        cols["activation"] += [float(y[0])] * n
    return {k: np.asarray(v, np.float32 if k in ("weight", "activation") else np.int64) for k, v in cols.items()}


def compute_lime(loaded: LoadedModel, store: ActivationStore, factors: FactorResult, cfg: LimeConfig, out_dir: Path, reporter: Reporter, executor: Executor | None = None, loader: Any = None,
                 *, modality: MaskerKind) -> None:
    """Write ``lime.parquet`` (one row per (factor, context, token)) and ``lime.json`` into out_dir.

    Columns: factor int32, layer int8, sentence_id int32, position int32 (the context token),
    token int32 (position of the weighted token), weight float32 (in activation units per
    token kept), plus ``activation`` float32 (the unperturbed activation, repeated per row).

    ``executor`` (executor.py; None = this process) explains the sentences, one job each; the
    perturbations are drawn here, in sentence order, so the result never depends on where or on
    how many workers they ran. Workers in other processes load the model with ``loader``
    (executor.ModelLoader) and the store and factors from their folders; ``loaded`` then needs
    only its tokenizer or image processor (``loader.preprocessing()``). ``modality``: the model's
    (its units' masker)."""
    from ...executor import LocalExecutor

    executor = executor or LocalExecutor()
    out_dir = Path(out_dir)
    offsets = store.sentence_offsets
    sentence_of = np.searchsorted(offsets, np.arange(store.n_tokens), side="right") - 1
    contexts = select_contexts(factors, cfg, sentence_of)
    by_sentence: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for c, layer, row in contexts:
        s = int(sentence_of[row])
        by_sentence[s].append((c, layer, row - int(offsets[s])))
    masker = modality.make_masker(loaded, store, cfg)
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 0x11AE]))

    def jobs():
        for s in sorted(by_sentence):
            targets = by_sentence[s]
            lo, hi = int(offsets[s]), int(offsets[s + 1])
            if masker.causal:  # nothing after the last explained position can reach it: run the prefix only
                hi = lo + max(p for _, _, p in targets) + 1
            free = masker.free_units(lo, hi)
            keep = rng.random((cfg.samples, len(free))) < cfg.keep_prob
            yield s, lo, hi, targets, np.vstack([np.ones((1, len(free)), bool), keep])  # row 0: the original sentence

    if executor.in_process:
        make_worker: Any = lambda: LimeWorker(loaded, store, factors, cfg, modality)  # noqa: E731
    else:
        make_worker = partial(lime_worker_from_paths, loader, store.path, factors.path, cfg, modality)
    with reporter.task(f"lime: {len(contexts):,} contexts in {len(by_sentence):,} {modality.sequence_noun}", total=len(by_sentence)) as task:
        parts = executor.actor_map(make_worker, explain_sentence, jobs(), on_result=lambda _: task.advance())
    cols = {k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0, np.int64)
            for k in ("factor", "layer", "sentence_id", "position", "token", "weight", "activation")}

    table = pa.table(
        {
            "factor": pa.array(cols["factor"], pa.int32()),
            "layer": pa.array(cols["layer"], pa.int8()),
            "sentence_id": pa.array(cols["sentence_id"], pa.int32()),
            "position": pa.array(cols["position"], pa.int32()),
            "token": pa.array(cols["token"], pa.int32()),
            "weight": pa.array(cols["weight"], pa.float32()),
            "activation": pa.array(cols["activation"], pa.float32()),
        }
    )
    order = np.lexsort((table.column("token").to_numpy(), table.column("position").to_numpy(), table.column("sentence_id").to_numpy(), table.column("factor").to_numpy()))
    pq.write_table(table.take(order), out_dir / "lime.parquet")
    wanted = len(np.flatnonzero(np.isin(np.asarray(factors.level).astype(str), ["mid", "high"]))) if cfg.coverage == "mid-high" else (factors.n_components if cfg.coverage == "all" else 0)
    summary = {
        "config": cfg.to_dict(),
        "factors_wanted": wanted,
        "mask_token": masker.mask_name,
        "meaning": "weight = change of the factor's activation at (position, layer) when unit `token` is kept "
        + masker.meaning + " (locally weighted ridge regression over perturbed copies)",
        "factors": len({c for c, _, _ in contexts}),
        "contexts": len(contexts),
        "sentences": len(by_sentence),
    }
    (out_dir / "lime.json").write_text(json.dumps(summary, indent=1))


def write_lime_bundle(lime_dir: Path, chunk_size: int, bundle: Any) -> dict[str, Any]:
    """``factors/lime-NNN.parquet`` per chunk of ``chunk_size`` factors (the chunks of the factor
    bundle, so a factor page loads one small file); returns manifest["factors"]["lime"]."""
    table = pq.read_table(Path(lime_dir) / "lime.parquet")
    summary = json.loads((Path(lime_dir) / "lime.json").read_text())
    chunk_of = table.column("factor").to_numpy() // chunk_size
    files = []
    for chunk in np.unique(chunk_of):
        name = f"factors/lime-{int(chunk):03d}.parquet"
        bundle.add_table(name, table.filter(pa.array(chunk_of == chunk)))
        files.append(name)
    covered = np.unique(table.column("factor").to_numpy()).tolist()
    return {
        **summary,
        "files": files,
        "chunk_size": chunk_size,
        "covered_factors": covered,
        "columns": table.column_names,
    }
