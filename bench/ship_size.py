"""How big a built site is, and what the same data would take under the other ways of shipping it.

    python bench/ship_size.py SITE_DIR [SITE_DIR ...]

For every model of each site, from its manifest's file list (the bytes of each file, whether its
twin is deflated, the twin's size) and the files on disk:

- on disk: the site's bytes now (du's apparent size), its data/ folders, the shared assets/;
- as built before files shipped once: every file as a binary plus its plain base64 twin (the live
  probe's three files twin only, as then), computed exactly from each file's size;
- as plain twins only (no deflate), and as this build writes them (each file once, deflated where
  that saves a tenth: every file's bytes encoded again with bundles.encode_twin, so a site built
  before can be measured under the new rule).

Sizes in MB (10^6 bytes) and MiB. GitHub Pages allows 1 GB per site and 100 MB per file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tfvis_site.site.bundles import twin_text, encode_twin, read_data_file
from tfvis_site.site.layout import MANIFEST, site_models

LIVE = ("live/model.onnx", "live/tokenizer.json", "live/encoder.bin")


def twin_size(name: str, n: int) -> int:
    """Bytes of a plain base64 twin of an n-byte file (bundles.js_twin)."""
    return len(f'(window.TFVIS_DATA=window.TFVIS_DATA||{{}})[{json.dumps(name)}]="";\n') + 4 * ((n + 2) // 3)


def model_sizes(data: Path) -> dict[str, int]:
    manifest = json.loads((data.parent / MANIFEST).read_text())
    files = manifest["files"]
    manifest_bytes = (data / "manifest.json").stat().st_size
    plain_manifest = manifest_bytes + twin_size("manifest.json", manifest_bytes)
    out = {"files": len(files), "deflated": sum(bool(e.get("deflate")) for e in files.values()),
           "bytes": sum(e["bytes"] for e in files.values())}
    out["twice"] = plain_manifest + sum(twin_size(n, e["bytes"]) + (0 if n in LIVE else e["bytes"]) for n, e in files.items())
    out["plain twins"] = plain_manifest + sum(twin_size(n, e["bytes"]) for n, e in files.items())
    once = 0
    for name in files:
        held, deflated = encode_twin(read_data_file(data, name, files))
        once += len(twin_text(name, held, deflated))
    # the manifest as this build writes it (its file entries gain twin_bytes / deflate: about the same size)
    once += manifest_bytes + len(twin_text("manifest.json", *encode_twin((data / "manifest.json").read_bytes())))
    out["once"] = once
    out["on disk"] = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    out["largest"] = max((p.stat().st_size for p in data.rglob("*") if p.is_file()), default=0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", type=Path, nargs="+")
    args = ap.parse_args(argv)
    mb = lambda n: f"{n / 1e6:8.1f} MB {n / 2**20:7.1f} MiB"  # noqa: E731
    grand = {"now": 0, "twice": 0, "plain": 0, "once": 0}
    for site in args.site:
        total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
        data_total = 0
        rows = []
        for slug in site_models(site):
            s = model_sizes(site / "models" / slug / "data")
            data_total += s["on disk"]
            rows.append((slug, s))
        other = total - data_total
        print(f"{site}: {mb(total)} on disk (data/ {mb(data_total)}, pages and assets/ {other / 1e6:.1f} MB)")
        for slug, s in rows:
            print(f"  {slug}: {s['files']} data files ({s['deflated']} deflated), their bytes {s['bytes'] / 1e6:.1f} MB, largest file on disk {s['largest'] / 1e6:.1f} MB")
            print(f"    data/ on disk:                              {mb(s['on disk'])}")
            print(f"    data/ as plain base64 twins only:          {mb(s['plain twins'])}")
            print(f"    data/ once, as this build writes it:       {mb(s['once'])}")
            print(f"    data/ as before (binary + twin, live twins only): {mb(s['twice'])}")
        twice = other + sum(s["twice"] for _, s in rows)
        plain = other + sum(s["plain twins"] for _, s in rows)
        once = other + sum(s["once"] for _, s in rows)
        print(f"  whole site: on disk {mb(total)}; as before {mb(twice)}; plain twins only {mb(plain)}; once, as built now {mb(once)} (/ before {once / twice:.2f})")
        grand["now"] += total
        grand["twice"] += twice
        grand["plain"] += plain
        grand["once"] += once
    if len(args.site) > 1:
        print(f"all sites: on disk {mb(grand['now'])}; as before {mb(grand['twice'])}; plain twins only {mb(grand['plain'])}; once, as built now {mb(grand['once'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
