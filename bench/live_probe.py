"""The live probe's weights on a built site (issue 14): size and accuracy of int8 / fp16 / fp32,
and onnxruntime's own dynamic int8 quantisation for comparison.

    tfvis-site build --preset quick --out /tmp/live-site --cache-dir /tmp/live-cache
    python bench/live_probe.py --site /tmp/live-site --cache-dir /tmp/live-cache [--n-texts 64]

Per variant: bytes of the ONNX file and of its .js twin (what the site ships), the activation
error against the PyTorch fp32 model (max abs, and relative = max |a - a_fp32| / max |a_fp32|
over texts x tokens x layers x factors: the measure the build chooses by), the attention weights'
max abs error, and onnxruntime's median time per text (1 thread; a shared machine: compare the
rows, not the absolute times). The texts are corpus texts the build's choice did not see.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from tfvis_site.site.bundles import read_data_table  # noqa: E402


def export_folder(cache_root: Path, max_tokens: int) -> Path | None:
    """The live-export stage folder of the site's build (this max_tokens, this code's version)."""
    from tfvis_site.analysis.live.compress import INT8_BLOCK
    from tfvis_site.analysis.live.stage import LIVE_VERSION

    for key_file in sorted((cache_root / "live-export").glob("*/key.json")):
        key = json.loads(key_file.read_text())
        if (key.get("max_tokens"), key.get("v"), key.get("int8_block")) == (max_tokens, LIVE_VERSION, INT8_BLOCK):
            return key_file.parent
    return None


def main() -> None:
    from tfvis_site.cache import StageCache
    from tfvis_site.site.layout import MANIFEST, model_dir, pick_model
    from tfvis_site.analysis.live.stage import N_ACCURACY_TEXTS, WEIGHTS, measure_variants, onnx_session
    from tfvis_site.probe import site_factors, site_model
    from tfvis_site.progress import Reporter

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", type=Path, required=True)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--model", help="slug of the model (a site of several)")
    parser.add_argument("--n-texts", type=int, default=64)
    args = parser.parse_args()

    cache = StageCache(args.cache_dir)
    folder = model_dir(args.site, pick_model(args.site, args.model))
    manifest = json.loads((folder / MANIFEST).read_text())
    max_tokens = manifest["build"]["max_tokens"]
    record, factors = site_factors(args.site, cache, args.model)
    loaded = site_model(record, "cpu")
    export = export_folder(cache.root, max_tokens)
    if export is None:
        raise SystemExit(f"{args.cache_dir}: no live-export stage with max_tokens {max_tokens} (build the site with the live probe)")
    texts = read_data_table(folder / "data", "sentences.parquet").column("text").to_pylist()
    texts = texts[N_ACCURACY_TEXTS : N_ACCURACY_TEXTS + args.n_texts]  # not the texts the build chose by

    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = Path(tempfile.mkdtemp(prefix="live-bench-"))
    dynamic = tmp / "model.int8-dynamic.onnx"
    quantize_dynamic(export / "model.fp32.onnx", dynamic, weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Gather"], extra_options={"MatMulConstBOnly": True})
    variants = {**{w: export / f"model.{w}.onnx" for w in WEIGHTS}, "int8-dynamic (onnxruntime)": dynamic}
    results, peak = measure_variants(loaded, factors, texts, max_tokens, variants, Reporter.silent())
    ids = [loaded.tokenizer(t, truncation=True, max_length=max_tokens)["input_ids"] for t in texts]
    print(f"{manifest['model']['name']}: {len(texts)} held-out texts, max_tokens {max_tokens}, "
          f"{factors.n_components} factors (k = {factors.config.sae_k}), largest fp32 activation {peak:.3f}; "
          f"site chose: {manifest.get('live', {}).get('weights', manifest.get('live_unavailable'))}")
    print(f"{'variant':28} {'onnx MB':>8} {'twin MB':>8} {'act relative':>12} {'act max abs':>11} {'flip rows':>9} {'attn max abs':>12} {'ms/text':>8}")
    for name, row in results.items():
        session = onnx_session(variants[name])
        times = []
        for i in ids:
            t = np.asarray([i], dtype=np.int64)
            start = time.perf_counter()
            session.run(None, {"input_ids": t, "attention_mask": np.ones_like(t)})
            times.append(time.perf_counter() - start)
        twin = 4 * ((row["bytes"] + 2) // 3) + 60  # base64 + the assignment around it
        print(f"{name:28} {row['bytes'] / 1e6:8.2f} {twin / 1e6:8.2f} {row['relative']:12.4%} {row['max_abs_activation_error']:11.4f} {row['flip_rows']:9.2%} "
              f"{row['attention_max_abs_error']:12.2e} {1000 * statistics.median(times):8.1f}")
    live = manifest.get("live")
    if live:
        files = manifest["files"]
        parts = ", ".join(f"{n} {files[n]['twin_bytes'] / 1e6:.2f} MB" for n in (live["model"], live["tokenizer"], live["encoder"]["file"]))
        print(f"site's live files (twins only): {live['bytes'] / 1e6:.2f} MB ({parts})")


if __name__ == "__main__":
    main()
