"""Time ``tfvis-site probe SITE --labels FILE.jsonl`` on 500 labelled examples (issue 12: < 60 s
on 2 cores for 500 examples at 7 layers, i.e. a MiniLM site).

The 500 examples are Wikipedia sentences of the default corpus (seed 1, not the site's sample)
that contain "in" or "on" as a word; the target is that word and the label the word itself, so
the probe is real and the texts have the corpus's lengths. Prints the wall time of the whole
command (a fresh process: imports, model load, forward passes, coding, probes) and, in-process,
where the time goes.

    tfvis-site build --out /tmp/site --cache-dir /tmp/cache          # the default MiniLM site
    python bench/probe_labels.py /tmp/site --cache-dir /tmp/cache [--n 500]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def labelled_file(path: Path, n: int) -> None:
    """n examples, half "in", half "on" (first whole-word occurrence, in the first 150
    characters), from the default corpus."""
    from tfvis_site.analysis.concepts import find_target
    from tfvis_site.corpus.text import load_corpus

    texts = load_corpus(None, 20 * n, seed=1).texts
    wanted = {"in": n // 2, "on": n - n // 2}
    with open(path, "w") as f:
        for text in texts:
            for word in ("in", "on"):
                span = find_target(text, word)
                if wanted[word] and span and span[1] < 150:  # well within the site's 64 tokens: every example usable
                    f.write(json.dumps({"text": text, "target": word, "label": word}) + "\n")
                    wanted[word] -= 1
                    break
            if not any(wanted.values()):
                return
    raise SystemExit(f"only found {n - sum(wanted.values())} examples")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("site", type=Path)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()

    from tfvis_site.cache import StageCache
    from tfvis_site.analysis.concepts import SingleFactorProbe, raw_state_probe, read_labels, swapped_scores, target_states, two_fold_split
    from tfvis_site.probe import site_factors, site_model

    with tempfile.TemporaryDirectory() as tmp:
        labels = Path(tmp) / "in-on.jsonl"
        labelled_file(labels, args.n)
        start = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run([sys.executable, "-m", "tfvis_site", "probe", str(args.site), "--labels", str(labels), "--json",
                               "--cache-dir", str(args.cache_dir)], capture_output=True, text=True)
        total = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        if proc.returncode:
            raise SystemExit(proc.stderr)
        result = json.loads(proc.stdout)

        # in-process breakdown (imports already done)
        t = {}
        start = time.perf_counter()
        record, factors = site_factors(args.site, StageCache(args.cache_dir))
        loaded = site_model(record, "cpu")
        t["load site: model + dictionary"] = time.perf_counter() - start
        labelled = read_labels(labels)
        start = time.perf_counter()
        states = target_states(loaded, labelled, record.get("max_tokens", 512))
        t["forward passes"] = time.perf_counter() - start
        n_layers = states.hidden.shape[0]
        y = __import__("numpy").array([labelled.labels.index(e.label) for e in labelled.usable])
        folds = two_fold_split(y, 0)
        t["coding"] = t["single-factor probes"] = t["raw-state probes"] = 0.0
        for layer in range(n_layers):
            start = time.perf_counter()
            codes = states.mean_codes(factors, layer)
            t["coding"] += time.perf_counter() - start
            start = time.perf_counter()
            swapped_scores(lambda: SingleFactorProbe(2), codes, y, folds, 2)
            SingleFactorProbe(2).fit(codes, y)
            t["single-factor probes"] += time.perf_counter() - start
            start = time.perf_counter()
            swapped_scores(raw_state_probe, states.mean_states(layer), y, folds, 2)
            t["raw-state probes"] += time.perf_counter() - start

    print(f"probe --labels: {result['n']} examples, {len(result['layers'])} layers, {factors.n_components} factors, load average {os.getloadavg()[0]:.1f}")
    print(f"{'measurement':40s} {'seconds':>8s}")
    print(f"{'whole command (fresh process)':40s} {total:8.1f}   target < 60 (CPU time {cpu:.1f} s: the load-independent part)")
    for name, seconds in t.items():
        print(f"  {name:38s} {seconds:8.1f}")
    print("F1 per layer (factor / raw):", ", ".join(f"L{r['layer']} {r['f1']:.3f}/{r['f1_raw']:.3f}" for r in result["layers"]))


if __name__ == "__main__":
    main()
