"""Every numeric analysis option at the edges of its range, end to end on a tiny random BERT: the
slow companion of tests/test_fuzz_config.py, which checks types and ranges in-process only.

    python bench/fuzz_options.py [--values 0,-1] [--section factors ...]

For each [factors] / [lime] / [attention] / [circuits] / [explanations] option holding a number,
and each value the config accepts, one quick build (--lime none, no live probe, one stage cache
for all) on a few sentences. Prints one line per build: the option, the value, the exit code and
the first line of stderr. An exit code of 1 is a bug: a value the config should refuse (exit 2)
or the stage should take (docs/testing.md). A few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import sys
import tempfile
import typing
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from tiny import TRAIN_TEXT, save_tiny_checkpoint  # noqa: E402

from tfvis_site.analysis.attention import AttentionConfig  # noqa: E402
from tfvis_site.analysis.circuits.config import CircuitsConfig  # noqa: E402
from tfvis_site.analysis.explanations.config import ExplanationConfig  # noqa: E402
from tfvis_site.analysis.factors import FactorConfig  # noqa: E402
from tfvis_site.analysis.factors.lime import LimeConfig  # noqa: E402
from tfvis_site.cli import main  # noqa: E402
from tfvis_site.errors import UserError  # noqa: E402
from tfvis_site.run.build import analysis_config  # noqa: E402
from tfvis_site.run.config import resolve  # noqa: E402

SECTIONS = {"factors": FactorConfig, "lime": LimeConfig, "attention": AttentionConfig, "circuits": CircuitsConfig, "explanations": ExplanationConfig}
NOT_SIZES = {"seed", "n_jobs"}  # how a run is seeded or parallel, not what it computes


def numeric_options(section: str) -> list[str]:
    hints = typing.get_type_hints(SECTIONS[section])
    numeric = [f.name for f in dataclasses.fields(SECTIONS[section]) if hints[f.name] in (int, float) or int in typing.get_args(hints[f.name])]
    return [name for name in numeric if name not in NOT_SIZES]


def run(root: Path, model: Path, section: str, option: str, value: str) -> str | None:
    config = root / "site.toml"
    config.write_text(f"[{section}]\n{option} = {value}\n")
    try:
        analysis_config(SECTIONS[section], section, resolve(config, {}))
    except UserError:
        return None  # refused up front: nothing to build
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["build", "--quiet", "--preset", "quick", "--lime", "none", "--no-live-probe", "--model", str(model), "--corpus", str(root / "corpus.txt"),
                     "--out", str(root / "site"), "--cache-dir", str(root / "cache"), "--config", str(config)])
    return f"{code} {(err.getvalue().strip().splitlines() or [''])[0][:160]}"


def main_(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", default="0,-1", help="TOML values to try, comma-separated")
    parser.add_argument("--section", action="append", choices=sorted(SECTIONS), help="only these tables (default: all)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        model = save_tiny_checkpoint("bert", root / "model")
        (root / "corpus.txt").write_text("\n".join(TRAIN_TEXT) + "\n")
        for section in args.section or SECTIONS:
            for option in numeric_options(section):
                for value in args.values.split(","):
                    result = run(root, model, section, option, value)
                    print(f"[{section}] {option} = {value}: {result or 'refused by the config'}", flush=True)


if __name__ == "__main__":
    main_()
