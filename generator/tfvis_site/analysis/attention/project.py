"""Projections of one head's joint query+key point set, and their trustworthiness.

Every function here takes ``X`` of shape ``(n_points, d_head)`` (queries first, then keys) and is
deterministic under its seed. ``project_head`` is the unit of work sent to worker processes: it
computes the exact k-nearest-neighbour graph once and shares it between the 2D and 3D UMAP runs
(and t-SNE), so a head costs one kNN search plus the layout optimisations.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .normalise import PairSample, spearman_dot_projected

PROJECTIONS = ("pca", "umap", "tsne")


def pca(X: np.ndarray, n_components: int = 3) -> np.ndarray:
    """(n, n_components) float32 principal-component scores (centred SVD, signs fixed so the
    largest-magnitude loading of each component is positive, as scikit-learn does)."""
    Xc = X.astype(np.float64) - X.astype(np.float64).mean(0)
    evals, evecs = np.linalg.eigh(Xc.T @ Xc)  # d×d: far cheaper than an SVD of the n×d data
    vt = evecs[:, np.argsort(-evals, kind="stable")].T[:n_components]
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(1)])
    signs[signs == 0] = 1
    out = Xc @ (vt * signs[:, None]).T
    if out.shape[1] < n_components:  # fewer features than components: pad with zeros
        out = np.pad(out, ((0, 0), (0, n_components - out.shape[1])))
    return out.astype(np.float32)


def exact_knn(X: np.ndarray, k: int, metric: str = "cosine", chunk: int = 1024, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours (each point is its own first neighbour), by blocked matrix
    products and a top-k per row: for ~10k points this is faster than NN-descent's 30 s JIT
    warm-up and exact. One function for every device (torch): on "cuda" a head's search takes
    milliseconds; on the CPU it runs on one thread, so that the result never depends on where the
    head runs (this process, a worker process or a Ray task).

    X: (n, d). Returns (indices (n, k) int64, distances (n, k) float32) sorted by distance;
    ``metric`` is "cosine" (1 - cos) or "euclidean".
    """
    import torch

    if metric not in ("cosine", "euclidean"):
        raise ValueError(f"metric must be 'cosine' or 'euclidean', not {metric!r}")
    n = len(X)
    k = min(k, n)
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        device = "cpu"  # a Ray task holds no GPU (the build's actors do): it searches on its CPU
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        Y = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32), device=device)
        if metric == "cosine":
            norms = torch.linalg.vector_norm(Y, dim=1, keepdim=True)
            Y = Y / torch.where(norms > 0, norms, torch.ones_like(norms))
        idx = np.empty((n, k), np.int64)
        dist = np.empty((n, k), np.float32)
        # cosine: the unit rows' dot products are the ranking (1 - cos is the distance), half
        # the passes over each (chunk, n) block of the squared-distance form euclidean needs
        sq = None if metric == "cosine" else (Y * Y).sum(1)
        for a in range(0, n, chunk):
            b = min(a + chunk, n)
            rows = torch.arange(b - a, device=Y.device)
            if sq is None:
                s = Y[a:b] @ Y.T
                s[rows, rows + a] = torch.inf  # self first, even with ties / rounding
                ss, part = torch.topk(s, k, dim=1, largest=True, sorted=True)
                dd = 1.0 - ss
            else:
                d = sq[None, :] - 2.0 * (Y[a:b] @ Y.T)  # + sq[a:b] (constant per row) added below
                d[rows, rows + a] = -torch.inf
                dd, part = torch.topk(d, k, dim=1, largest=False, sorted=True)
                dd = dd + sq[a:b, None]
            dd[:, 0] = 0.0
            idx[a:b] = part.cpu().numpy()
            dist[a:b] = dd.clamp_min(0.0).cpu().numpy()
    finally:
        torch.set_num_threads(threads)
    if metric == "euclidean":
        dist = np.sqrt(dist)
    return idx, dist.astype(np.float32)


def scale_unit(coords: np.ndarray) -> np.ndarray:
    """Centre on the bounding box and scale uniformly (aspect kept) into [-1, 1]."""
    lo, hi = coords.min(0), coords.max(0)
    centre = (lo + hi) / 2
    half = float((hi - lo).max()) / 2
    out = (coords - centre) / (half if half > 0 else 1.0)
    return out.astype(np.float32)


class TrustworthinessProbe:
    """scikit-learn's trustworthiness (k neighbours) on a fixed subsample, with the input-space
    distances computed once and reused for every projection of the head.

    T = 1 - 2 / (m k (2m - 3k - 1)) · Σ_i Σ_{j ∈ U_k(i)} (r(i, j) - k), where U_k(i) are i's k
    nearest neighbours in the embedding that are not among its k nearest in the input space and
    r(i, j) is j's rank among i's input-space neighbours. Ranks are counted only for the k
    embedded neighbours (O(m² k) comparisons) instead of sorting every row.
    """

    def __init__(self, X: np.ndarray, sample: np.ndarray, k: int = 15, metric: str = "euclidean"):
        self.sample = np.asarray(sample)
        m = len(self.sample)
        self.k = min(k, max(1, (m - 1) // 2 - 1))
        Z = X[self.sample].astype(np.float64)
        if metric == "cosine":
            Z = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-30)
        elif metric != "euclidean":
            raise ValueError(f"trustworthiness metric must be 'euclidean' or 'cosine', not {metric!r}")
        self.D = _sq_dists(Z)  # squared distances rank like distances (cosine: like 1 - cos)

    def __call__(self, Y: np.ndarray) -> float:
        m, k = len(self.sample), self.k
        if m < 4:
            return float("nan")
        E = _sq_dists(Y[self.sample].astype(np.float64))
        nn = np.argpartition(E, k - 1, axis=1)[:, :k]
        dsel = np.take_along_axis(self.D, nn, 1)  # (m, k) input-space distance to each
        total = 0
        for a in range(0, m, 256):
            ranks = (self.D[a : a + 256, None, :] < dsel[a : a + 256, :, None]).sum(2) + 1
            total += int(np.clip(ranks - k, 0, None).sum())
        return 1.0 - 2.0 / (m * k * (2.0 * m - 3.0 * k - 1.0)) * total


def _sq_dists(Z: np.ndarray) -> np.ndarray:
    """(m, m) squared Euclidean distances, float32, with +inf on the diagonal."""
    sq = (Z * Z).sum(1)
    D = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (Z @ Z.T), 0.0).astype(np.float32)
    np.fill_diagonal(D, np.inf)
    return D


@dataclass
class HeadProjection:
    """What ``project_head`` returns for one head: coordinates scaled to [-1, 1] per projection,
    trustworthiness per projection, and seconds spent per step."""

    coords: dict[str, np.ndarray] = field(default_factory=dict)  # "umap2" -> (n_points, 2)
    trust: dict[str, float] = field(default_factory=dict)
    spearman: dict[str, float] = field(default_factory=dict)  # q·k vs projected distance
    seconds: dict[str, float] = field(default_factory=dict)


def cache_umap_jit() -> None:
    """Keep umap's numba-compiled functions on disk (numba's cache: ``__pycache__`` beside umap's
    sources, else the user's cache folder, or ``NUMBA_CACHE_DIR``). umap compiles them without
    ``cache=True``, so every new process (a pool worker, a Ray worker) compiled them again: ~28 s
    per process on a busy 2-core machine, against 0.2 s for a head's layouts. Once per process."""
    global _umap_jit_cached
    if _umap_jit_cached:
        return
    _umap_jit_cached = True
    import umap.layouts
    import umap.umap_
    import umap.utils
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    for module in (umap.umap_, umap.layouts, umap.utils):
        for fn in vars(module).values():
            if isinstance(fn, Dispatcher) and isinstance(fn._cache, NullCache):
                try:
                    fn.enable_caching()
                except RuntimeError:  # no writable cache folder: compile in memory, as before
                    return


_umap_jit_cached = False


def _umap_layouts(X, knn, dims, params, seed, init_for) -> dict[int, np.ndarray]:
    from umap.umap_ import find_ab_params, fuzzy_simplicial_set, simplicial_set_embedding

    cache_umap_jit()
    idx, dist = knn
    k = params["n_neighbors"]
    graph, _, _ = fuzzy_simplicial_set(
        X, k, np.random.RandomState(seed), params["metric"], knn_indices=idx[:, :k], knn_dists=dist[:, :k]
    )
    a, b = find_ab_params(params.get("spread", 1.0), params["min_dist"])
    out = {}
    for dim in dims:
        emb, _ = simplicial_set_embedding(
            X, graph.copy(), dim, 1.0, a, b, 1.0, params.get("negative_sample_rate", 5), params["n_epochs"],
            init_for(dim, out), np.random.RandomState(seed), params["metric"], {}, False, {}, False,
        )
        out[dim] = np.asarray(emb, np.float32)
    return out


def _tsne(X, knn, dim, params, seed, init) -> np.ndarray:
    from scipy.sparse import csr_matrix
    from sklearn.manifold import TSNE

    idx, dist = knn
    n, kk = idx.shape
    graph = csr_matrix((dist[:, 1:].ravel().astype(np.float64), idx[:, 1:].ravel(), np.arange(0, n * (kk - 1) + 1, kk - 1)), shape=(n, n))
    model = TSNE(
        n_components=dim, perplexity=min(params["perplexity"], (kk - 3) / 3), max_iter=params["max_iter"],
        metric="precomputed", init=init / (np.std(init[:, 0]) or 1.0) * 1e-4 if init is not None else "random",
        random_state=seed, method="barnes_hut", learning_rate="auto",
    )
    return model.fit_transform(graph).astype(np.float32)


def project_head(X: np.ndarray, task: dict[str, Any]) -> HeadProjection:
    """All projections of one head, on one thread of every thread pool (OpenMP, BLAS), wherever
    it runs, so the bits never depend on the machine or the executor: scikit-learn's Barnes-Hut
    t-SNE sums its normalisation and its error in parallel, and a process-pool worker ran it on
    the machine's cores (its OpenMP runtime loads after the worker's thread limit) while a Ray
    task runs it on one (OMP_NUM_THREADS=1).

    X: (n_points, d_head) float32 normalised queries then keys. ``task`` holds: projections,
    dims, seed, umap (n_neighbors, min_dist, n_epochs, metric, init3d), tsne (perplexity,
    max_iter, metric), trust_k, trust_sample (indices into X), metric for trustworthiness.
    """
    from threadpoolctl import threadpool_limits

    # threadpoolctl limits the pools of the libraries loaded so far: load them first
    if "tsne" in task["projections"]:
        import sklearn.manifold  # noqa: F401 - its OpenMP runtime
    if "umap" in task["projections"]:
        import umap.umap_  # noqa: F401 - scipy's BLAS, numba
    if "umap" in task["projections"] or "tsne" in task["projections"]:
        import torch  # noqa: F401 - its own OpenMP runtime (the kNN search)
    with threadpool_limits(1):
        return _project_head(X, task)


def _project_head(X: np.ndarray, task: dict[str, Any]) -> HeadProjection:
    warnings.filterwarnings("ignore", module="umap")
    warnings.filterwarnings("ignore", category=FutureWarning)
    res = HeadProjection()
    cpu0 = time.process_time()
    dims = sorted(task["dims"])
    seed = int(task["seed"])
    t0 = time.perf_counter()
    probe = TrustworthinessProbe(X, np.asarray(task["trust_sample"]), task["trust_k"], task["trust_metric"])
    res.seconds["trust_setup"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    P = pca(X, max(3, max(dims)))
    for dim in dims:
        res.coords[f"pca{dim}"] = scale_unit(P[:, :dim])
    res.seconds["pca"] = time.perf_counter() - t0

    need_knn = [p for p in task["projections"] if p in ("umap", "tsne")]
    if need_knn:
        t0 = time.perf_counter()
        k = task["umap"]["n_neighbors"] if "umap" in need_knn else 0
        if "tsne" in need_knn:
            k = max(k, int(3 * task["tsne"]["perplexity"]) + 3)  # scikit-learn wants 3p + 2 besides self
        metric = task["umap"]["metric"] if "umap" in need_knn else task["tsne"]["metric"]
        knn = exact_knn(X, k, metric, device=task.get("device", "cpu"))
        res.seconds["knn"] = time.perf_counter() - t0

    if "umap" in task["projections"]:
        params = task["umap"]

        def init_for(dim, done):
            # 3D starts from the finished 2D layout plus the third principal component, so it
            # converges in the same epochs and looks like the 2D picture; 2D starts from PCA.
            if dim == 3 and params.get("init3d") == "from2d" and 2 in done:
                base = done[2]
                third = P[:, 2:3] / (np.std(P[:, 2]) or 1.0) * np.std(base)
                return np.hstack([base, third]).astype(np.float64)
            return P[:, :dim].astype(np.float64)

        t0 = time.perf_counter()
        layouts = _umap_layouts(X, knn, dims, params, seed, init_for)
        res.seconds["umap"] = time.perf_counter() - t0
        for dim, emb in layouts.items():
            res.coords[f"umap{dim}"] = scale_unit(emb)

    if "tsne" in task["projections"]:
        t0 = time.perf_counter()
        for dim in dims:
            res.coords[f"tsne{dim}"] = scale_unit(_tsne(X, knn, dim, task["tsne"], seed, P[:, :dim]))
        res.seconds["tsne"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    n_tokens = len(X) // 2
    qi, ki = task["proj_pairs"]
    pairs = PairSample(np.asarray(qi, np.int64), np.asarray(ki, np.int64))
    dots = (X[pairs.query].astype(np.float64) * X[n_tokens + pairs.key]).sum(1)
    for name, coords in res.coords.items():
        res.trust[name] = probe(coords)
        res.spearman[name] = spearman_dot_projected(dots, coords, n_tokens, pairs)
    res.seconds["trust"] = time.perf_counter() - t0 + res.seconds.pop("trust_setup")
    res.seconds["cpu"] = time.process_time() - cpu0
    return res


def _worker_init() -> None:
    """Worker processes: one BLAS thread each (the pool provides the parallelism)."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # pragma: no cover - threadpoolctl is a scikit-learn dependency
        pass


def _worker_run(g: int, X: np.ndarray, task: dict[str, Any]) -> tuple[int, HeadProjection]:
    """One head's projections in a worker (a local process, a Ray task, or inline)."""
    return g, project_head(X, task)
