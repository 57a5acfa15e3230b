"""The Llama-3-8B plan of docs/scale.md, derived from costs measured on this machine.

    python bench/llama_plan.py --extract-tps 1850 --sae-gflops 60 --infer-tlps 40000 \
        --lime-cps 700 --head-seconds 2.7 --store-bytes 790

Inputs (each printed back with where it comes from):
  --extract-tps   MiniLM extraction, tokens/s on this machine (bench/scale.py, single process)
  --infer-tlps    factor inference, token-layers/s (bench/scale.py: the factors stage's tokens/s
                  times hidden-state layers, minus training) at the build's m
  --infer-m       the dictionary width of that measurement
  --sae-gflops    TopK SAE training, effective GFLOP/s (bench/sae_scaling.py)
  --lime-cps      LIME, perturbed copies x tokens per second (forward passes of MiniLM)
  --head-seconds  attention projections, CPU seconds per head of ~N points (bench/scale.py)
  --store-bytes   disk bytes of hidden states per token per layer of a float16 store of MiniLM
                  (d_model 384: scales with d_model)
  --table-bytes   the rest of the store per token (token and sentence tables, meta)

Scaling rule: a forward pass costs 2 x block parameters FLOPs per token (budget.ModelCost), an SAE
step 4·B·d·m, coding a vector 2·d·m; the measured CPU rate gives this machine's effective FLOP/s
per stage, and an A100-class GPU is taken at ``--gpu-tflops`` effective (default 125: 40% of
the A100's 312 dense bf16 TFLOP/s, a typical utilisation for inference with hooks), so each
stage's GPU time is FLOPs / that rate; the speed-up factor over this machine is printed per
stage. Disk-bound stages are bounded by ``--disk-gbps`` (per node, default 2 GB/s NVMe).
"""

from __future__ import annotations

import argparse
import math

from tfvis_site.run.budget import REFERENCE_BLOCK_PARAMS

#: Llama-3-8B (config.json of meta-llama/Meta-Llama-3-8B): what budget.ModelCost reads.
LLAMA = {"d_model": 4096, "n_layers": 32, "n_heads": 32, "n_kv_heads": 8, "d_head": 128, "d_ff": 14336}


def llama_block_params() -> float:
    L = LLAMA
    attention = 2 * L["d_model"] * L["n_heads"] * L["d_head"] + 2 * L["d_model"] * L["n_kv_heads"] * L["d_head"]
    return L["n_layers"] * (attention + 3 * L["d_model"] * L["d_ff"])


def hours(seconds: float) -> str:
    return f"{seconds / 3600:,.2f} h"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokens", type=float, default=10e6)
    p.add_argument("--extract-tps", type=float, required=True)
    p.add_argument("--infer-tlps", type=float, required=True)
    p.add_argument("--infer-m", type=int, default=256)
    p.add_argument("--sae-gflops", type=float, required=True)
    p.add_argument("--lime-cps", type=float, required=True)
    p.add_argument("--head-seconds", type=float, required=True)
    p.add_argument("--store-bytes", type=float, required=True)
    p.add_argument("--table-bytes", type=float, default=0.0)
    p.add_argument("--m", type=int, default=32768, help="SAE width for Llama (8 x d_model)")
    p.add_argument("--k", type=int, default=32)
    p.add_argument("--sae-steps", type=int, default=15000, help="the full preset's sae_n_steps")
    p.add_argument("--sae-batch", type=int, default=4096)
    p.add_argument("--lime-sentences", type=int, default=1000)
    p.add_argument("--lime-copies", type=int, default=129, help="the full preset: 128 perturbed copies + the original")
    p.add_argument("--lime-tokens", type=int, default=64)
    p.add_argument("--gpu-tflops", type=float, default=125.0)
    p.add_argument("--disk-gbps", type=float, default=2.0)
    a = p.parse_args()

    N, L = a.tokens, LLAMA["n_layers"]
    layers = L + 1  # hidden states: the embedding output and every block
    d = LLAMA["d_model"]
    minilm_fwd = 2 * REFERENCE_BLOCK_PARAMS
    llama_fwd = 2 * llama_block_params()
    gpu = a.gpu_tflops * 1e12
    rows = []

    # store on disk: float16 bytes per token per layer scale with d_model
    per_token_layer = a.store_bytes * d / 384
    store_bytes = N * layers * per_token_layer + N * a.table_bytes
    rows.append(("store (float16)", f"{per_token_layer:,.0f} B per token and layer x {layers} layers x {N:,.0f} tokens + {a.table_bytes:g} B per token of tables", f"{store_bytes / 1e12:,.2f} TB", ""))

    # extraction
    cpu_flops = a.extract_tps * minilm_fwd
    compute = N * llama_fwd / gpu
    write = store_bytes / (a.disk_gbps * 1e9)
    rows.append(("extraction", f"{llama_fwd / 1e9:.1f} GFLOP/token (MiniLM {minilm_fwd / 1e6:.1f} MFLOP); here {cpu_flops / 1e9:.1f} GFLOP/s; GPU x{gpu / cpu_flops:,.0f}",
                 f"{hours(compute)} GPU (compute); writing the store {hours(write)} at {a.disk_gbps:g} GB/s", "disk-bound" if write > compute else "compute-bound"))

    # SAE training
    step = 4.0 * a.sae_batch * d * a.m  # encoder forward + weight gradient (bench/sae_scaling.py)
    sae_gpu = a.sae_steps * step / gpu
    sample = 1_000_000 * d * 2
    rows.append(("SAE training", f"{a.sae_steps:,} steps x {step / 1e12:.2f} TFLOP (B {a.sae_batch}, m {a.m:,}); here {a.sae_gflops:.0f} GFLOP/s; GPU x{gpu / (a.sae_gflops * 1e9):,.0f}",
                 f"{hours(sae_gpu)} GPU", f"sample of 1 M vectors = {sample / 1e9:.1f} GB fp16"))

    # factor inference
    cpu_infer_flops = a.infer_tlps * 2 * 384 * a.infer_m
    infer = N * layers * 2 * d * a.m / gpu
    read = store_bytes / (a.disk_gbps * 1e9)
    rows.append(("factor inference", f"{2 * d * a.m / 1e9:.2f} GFLOP per token-layer; here {cpu_infer_flops / 1e9:.1f} GFLOP/s; GPU x{gpu / cpu_infer_flops:,.0f}",
                 f"{hours(infer)} GPU (compute); reading the store {hours(read)}", "disk-bound" if read > infer else "compute-bound"))

    # LIME: perturbed copies through the model (up to the deepest layer needed: counted in full)
    lime_tokens = a.lime_sentences * a.lime_copies * a.lime_tokens
    cpu_lime_flops = a.lime_cps * minilm_fwd
    lime = lime_tokens * llama_fwd / gpu
    rows.append(("LIME", f"{a.lime_sentences:,} sentences x {a.lime_copies} copies x {a.lime_tokens} tokens; here {cpu_lime_flops / 1e9:.1f} GFLOP/s", f"{hours(lime)} GPU", ""))

    # attention projections: per head, CPU; heads scale with layers x heads
    heads = L * LLAMA["n_heads"]
    proj = heads * a.head_seconds
    rows.append(("attention projections", f"{heads:,} heads x {a.head_seconds:.1f} CPU s (same points per head)", f"{hours(proj)} CPU", f"{math.ceil(proj / 600):,} CPUs for 10 min"))

    width = max(len(r[0]) for r in rows)
    print(f"Llama-3-8B ({llama_block_params() / 1e9:.2f} B block parameters), {N:,.0f} tokens x {L} layers; A100-class GPU at {a.gpu_tflops:g} TFLOP/s effective")
    for stage, basis, cost, note in rows:
        print(f"{stage:<{width}}  {cost:<48}  {basis}{'  [' + note + ']' if note else ''}")


if __name__ == "__main__":
    main()
