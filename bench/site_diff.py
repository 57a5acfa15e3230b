"""Build the same sites at another revision and at this checkout, and diff them.

    python bench/site_diff.py --against REV [--model minilm --model dinov2 --model smollm2] [--preset quick]
    python bench/site_diff.py --before DIR   # sites already built at the other revision: DIR/<model>/

A change that should not alter what a site shows (a refactoring, a new front-end build) must keep
every data file byte-identical and change the HTML at most in its <script> tags. For each model
this builds the site twice, once from a git worktree of REV and once from this checkout, each
with its own cold stage cache (so both sides run every stage), and prints one table:

- data: the data files under models/*/data/ and the manifests: is every file's content (its bytes
  as a page gets them, decoded from its .js twin or read from a binary of a site that still ships
  one) byte-identical? The manifests are compared without the per-file fields that only say how a
  file ships (twin_bytes, twin_only, deflate).
- html: every page with its <script src=...> tags removed: identical?
- scripts: the script files the pages load, before -> after (informational)
- other: every other file outside assets/ (e.g. .nojekyll): byte-identical?

Exits 1 when data, html or other differ, naming the first differing files.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
SCRIPT_TAG = re.compile(r"<script\b[^>]*\bsrc=\"[^\"]*\"[^>]*>\s*</script>\s*")
SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc=\"([^\"]*)\"")


def build_site(tree: Path, model: str, preset: str, out: Path, cache: Path) -> None:
    """``tfvis-site build`` with the package of ``tree`` (not the installed one)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree / "generator"), "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "tfvis_site", "build", "--preset", preset, "--model", model, "--out", str(out), "--cache-dir", str(cache), "--quiet"]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"build of {model} in {tree} failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")


#: Fields of a manifest's file entry that say how the file ships, not what it holds.
SHIPPING = ("twin_bytes", "twin_only", "deflate")


def files(site: Path) -> dict[str, Path]:
    return {str(p.relative_to(site)): p for p in sorted(site.rglob("*")) if p.is_file()}


def data_name(name: str, path: Path) -> str:
    """The data file a path under data/ holds: NAME for a twin NAME.js, else the path itself."""
    if name.endswith(".js"):
        with open(path, "rb") as f:
            if f.read(19) == b"(window.TFVIS_DATA=":
                return name[:-3]
    return name


def data_content(paths: list[Path]) -> bytes:
    """A data file's bytes: the binary when a site ships one, else decoded from its twin; a
    manifest without its shipping fields."""
    from tfvis_site.site.bundles import twin_payload

    binary = [p for p in paths if not p.name.endswith(".js")]
    payload = binary[0].read_bytes() if binary else twin_payload(paths[0].read_bytes())
    if paths[0].name.startswith("manifest.json"):
        manifest = json.loads(payload)
        for entry in manifest.get("files", {}).values():
            for key in SHIPPING:
                entry.pop(key, None)
        payload = json.dumps(manifest, sort_keys=True).encode()
    return payload


def compare_data(a: dict[str, Path], b: dict[str, Path]) -> tuple[list[str], int]:
    """The data files (by name, see data_name) whose content differs or that one side lacks, and
    the number of data files after."""
    sides = []
    for paths in (a, b):
        by_name: dict[str, list[Path]] = {}
        for name, path in paths.items():
            if "/data/" in f"/{name}" and not name.startswith("assets/"):
                by_name.setdefault(data_name(name, path), []).append(path)
        sides.append(by_name)
    before, after = sides
    differ = []
    for name in sorted(set(before) | set(after)):
        if name not in before or name not in after:
            differ.append(f"{name} ({'only after' if name not in before else 'only before'})")
        elif data_content(before[name]) != data_content(after[name]):
            differ.append(name)
    return differ, len(after)


def compare(before: Path, after: Path) -> dict[str, Any]:
    """The differing files by kind (data, html, other: lists of names), the script sources of both
    sides' pages (sets) and the number of data files and pages after."""
    a, b = files(before), files(after)
    found: dict[str, Any] = {"data": [], "html": [], "other": [], "scripts_before": set(), "scripts_after": set()}
    found["data"], found["n_data"] = compare_data(a, b)
    for name in sorted(set(a) | set(b)):
        if name.startswith("assets/") or "/data/" in f"/{name}":
            continue  # the front end's files: the pages' script tags say which are used; data: above
        kind = "html" if name.endswith(".html") else "other"
        if name not in a or name not in b:
            found[kind].append(f"{name} ({'only after' if name not in a else 'only before'})")
        elif kind == "html":
            old, new = a[name].read_text(encoding="utf-8"), b[name].read_text(encoding="utf-8")
            found["scripts_before"].update(SCRIPT_SRC.findall(old))
            found["scripts_after"].update(SCRIPT_SRC.findall(new))
            if SCRIPT_TAG.sub("", old) != SCRIPT_TAG.sub("", new):
                found[kind].append(name)
        elif not filecmp.cmp(a[name], b[name], shallow=False):
            found[kind].append(name)
    found["n_html"] = sum(n.endswith(".html") for n in b)
    return found


def script_change(before: set[str], after: set[str]) -> str:
    """"n -> m" script files, and which went and came (by file name)."""
    old, new = {Path(s).name for s in before}, {Path(s).name for s in after}
    went, came = sorted(old - new), sorted(new - old)
    change = f"{len(old)} -> {len(new)}"
    if went or came:
        change += f"; gone: {', '.join(went) or '-'}; new: {', '.join(came) or '-'}"
    return change


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--against", metavar="REV", help="git revision to build the 'before' sites at (a temporary worktree)")
    source.add_argument("--before", type=Path, metavar="DIR", help="sites already built at the other revision, one folder per model")
    parser.add_argument("--model", action="append", help="built-in name or checkpoint folder; repeat (default: minilm, dinov2, smollm2)")
    parser.add_argument("--preset", default="quick", choices=("quick", "default", "full"))
    args = parser.parse_args()
    models = args.model or ["minilm", "dinov2", "smollm2"]

    with tempfile.TemporaryDirectory(prefix="site-diff-") as tmp:
        tmp = Path(tmp)
        before_root = args.before
        if args.against:
            worktree = tmp / "before-tree"
            subprocess.run(["git", "worktree", "add", "--detach", "-q", str(worktree), args.against], cwd=REPO, check=True)
            before_root = tmp / "before"
        try:
            table = Table(title=f"sites at {args.against or args.before} vs this checkout (--preset {args.preset})")
            for column in ("model", "data files", "pages", "data", "html without script tags", "other", "script files before -> after"):
                table.add_column(column)
            failures = []
            for model in models:
                name = Path(model).name
                if args.against:
                    build_site(worktree, model, args.preset, before_root / name, tmp / "cache-before")
                build_site(REPO, model, args.preset, tmp / "after" / name, tmp / "cache-after")
                found = compare(before_root / name, tmp / "after" / name)
                verdict = {k: "identical" if not found[k] else f"{len(found[k])} differ" for k in ("data", "html", "other")}
                table.add_row(name, str(found["n_data"]), str(found["n_html"]), verdict["data"], verdict["html"], verdict["other"],
                              script_change(found["scripts_before"], found["scripts_after"]))
                failures += [f"{name}: {k}: {', '.join(found[k][:5])}" for k in ("data", "html", "other") if found[k]]
            Console(width=200).print(table)
        finally:
            if args.against:
                subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, check=False)
    for line in failures:
        print(line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
