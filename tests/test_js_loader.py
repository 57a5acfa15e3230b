"""Browser test of the data core (assets/src/core/data.js, through the bundle
tests/js_smoke/smoke.js that assets/src/build.sh makes of tests/js_smoke/smoke.entry.js) and the
vendored bundles (assets/vendor/*.min.js).

Builds a tiny site in a temporary folder (Parquet written by pyarrow, raw float32, manifest),
every data file shipped once as its data/NAME.js twin (base64, or base64 of deflated bytes where
that pays, as the build writes them; the binary removed), opens tests/js_smoke/page.html in the system chromium
through file:// and through a local http.server, from the site root and from a subfolder
(<body data-root="../">), and checks that every value decodes exactly, that strings stay
literal text in the DOM, that the WebGL bundles run, and that the console stays clean.
"""

from __future__ import annotations

import base64
import json
import math
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from browser import console_errors, serve_dir, skip_without_chromium

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).resolve().parent / "js_smoke"
SCRIPT_TEXT = "<script>alert(1)</script>"
#: the smoke entry leaves its outcome on #status (.smoke) and the core's functions in .core
CORE = "document.getElementById('status').core"
SMOKE_DONE = "document.getElementById('status').smoke && document.getElementById('status').smoke.done"

TOKENS = {
    "id": [0, 1, -7, 2**53 - 1, 42],
    "score": [0.1, -2.5, 3.14159, 1e-8, 65504.0],
    "text": ["hello", SCRIPT_TEXT, "naïve café ☕", "", "a & b < c"],
}
POINTS = [0.0, 1.5, -2.25, 3.4028234663852886e38, 1e-45, -0.0, 0.1, 7.0]
BIG_ROWS = 2500
DEFLATED = [1.25, -8.0] + [0.0] * 62 + [3.5]


def f32(values):
    """Round Python floats to float32, as the browser will see them."""
    return [struct.unpack("<f", struct.pack("<f", v))[0] for v in values]


def write_js_twin(data_dir: Path, name: str, deflate: bool | None = None, keep: bool = False) -> Path:
    """Replace data/NAME by data/NAME.js, its classic-script twin (deflated as the build decides,
    or as ``deflate`` says); ``keep`` leaves data/NAME too (the manifest's plain JSON)."""
    from tfvis_site.site.bundles import encode_twin, js_twin

    raw = (data_dir / name).read_bytes()
    twin = data_dir / (name + ".js")
    twin.write_bytes(js_twin(name, raw, encode_twin(raw)[1] if deflate is None else deflate))
    if not keep:
        (data_dir / name).unlink()
    return twin


def big_table():
    ids = list(range(BIG_ROWS))
    values = [(i * 0.37) % 11 - 5 for i in ids]
    maybe = [None if i % 7 == 0 else i / 4 for i in ids]
    return {"row": ids, "value": values, "maybe": maybe}


def build_site(root: Path) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")

    data = root / "data"
    (data / "heads").mkdir(parents=True)

    tokens = pa.table(
        {
            "id": pa.array(TOKENS["id"], pa.int64()),
            "score": pa.array(TOKENS["score"], pa.float32()),
            "text": pa.array(TOKENS["text"], pa.string()),
        }
    )
    # snappy; float and int columns plain-encoded, the string column dictionary-encoded
    pq.write_table(tokens, data / "tokens.parquet", compression="snappy", use_dictionary=["text"])

    big = big_table()
    big_tbl = pa.table(
        {
            "row": pa.array(big["row"], pa.int64()),
            "value": pa.array(big["value"], pa.float64()),
            "maybe": pa.array(big["maybe"], pa.float32()),
        }
    )
    # uncompressed, several row groups and several pages per column chunk
    pq.write_table(
        big_tbl,
        data / "big_plain.parquet",
        compression="none",
        use_dictionary=False,
        row_group_size=1000,
        data_page_size=2048,
    )

    (data / "heads" / "points_L0H1.f32").write_bytes(struct.pack(f"<{len(POINTS)}f", *POINTS))

    names = ["tokens.parquet", "big_plain.parquet", "heads/points_L0H1.f32"]
    manifest = {
        "tool": "tfvis-site test",
        "title": SCRIPT_TEXT,
        "files": {n: (data / n).stat().st_size for n in names},
    }
    (data / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    for name in names:
        write_js_twin(data, name)
    write_js_twin(data, "manifest.json", keep=True)
    (data / "deflated.f32").write_bytes(struct.pack(f"<{len(DEFLATED)}f", *DEFLATED))
    write_js_twin(data, "deflated.f32", deflate=True)
    kinds = {n: "deflate:" in (data / (n + ".js")).read_text()[:200] for n in names + ["manifest.json", "deflated.f32"]}
    assert kinds["heads/points_L0H1.f32"] is False and kinds["big_plain.parquet"] is True, kinds  # both kinds of twin

    (root / "assets" / "vendor").mkdir(parents=True)
    bundles = sorted((REPO / "assets" / "vendor").glob("*.min.js"))
    assert {b.name for b in bundles} >= {"hyparquet.min.js", "regl-scatterplot.min.js", "three.min.js"}
    for bundle in bundles:
        shutil.copy(bundle, root / "assets" / "vendor" / bundle.name)

    page = (FIXTURE / "page.html").read_text(encoding="utf-8")
    smoke = FIXTURE / "smoke.js"
    (root / "index.html").write_text(page.replace("ROOT_PREFIX", ""), encoding="utf-8")
    shutil.copy(smoke, root / "smoke.js")
    (root / "sub").mkdir()
    (root / "sub" / "index.html").write_text(page.replace("ROOT_PREFIX", "../"), encoding="utf-8")
    return root


def test_js_twin_format(tmp_path):
    from tfvis_site.site.bundles import twin_payload

    (tmp_path / "a b.bin").write_bytes(bytes(range(256)))
    twin = write_js_twin(tmp_path, "a b.bin", deflate=False).read_text()
    prefix = '(window.TFVIS_DATA=window.TFVIS_DATA||{})["a b.bin"]="'
    assert twin.startswith(prefix) and twin.endswith('";\n')
    assert base64.b64decode(twin[len(prefix) : -3]) == bytes(range(256)) == twin_payload(twin)
    (tmp_path / "z.bin").write_bytes(bytes(1000))
    twin = write_js_twin(tmp_path, "z.bin").read_text()  # compressible: deflated
    assert twin.startswith(prefix.replace("a b.bin", "z.bin") + "deflate:") and twin.endswith('";\n')
    assert zlib.decompress(base64.b64decode(twin[len(prefix) - 2 + len("deflate:") : -3])) == bytes(1000) == twin_payload(twin)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory.mktemp("js_smoke_site"))


@pytest.fixture(params=["file", "http"])
def base_url(request, site):
    if request.param == "file":
        yield site.as_uri() + "/"
    else:
        with serve_dir(site) as url:
            yield url


def _deliberate_404(text, url):
    return "does_not_exist" in url


def open_page(browser, url):
    context = browser.new_context()
    page = context.new_page()
    errors = console_errors(page, ignore=_deliberate_404)
    dialogs = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    requests = []
    page.on("request", lambda req: requests.append(req.url))
    page.goto(url)
    page.requested = requests
    return context, page, errors, dialogs


@pytest.mark.browser
@skip_without_chromium
@pytest.mark.parametrize("page_path", ["index.html", "sub/index.html"])
def test_loader_and_bundles(browser, base_url, page_path):
    context, page, errors, dialogs = open_page(browser, base_url + page_path)
    try:
        page.wait_for_function(SMOKE_DONE, timeout=30_000)
        smoke = page.evaluate("document.getElementById('status').smoke")
        assert smoke["error"] is None, smoke["error"]
        r = smoke["results"]

        # bundles and their globals
        assert "createScatterplot" in r["globals"]["ReglScatterplot"]
        assert "createRenderer" in r["globals"]["ReglScatterplot"]
        assert r["globals"]["THREE_OrbitControls"] == "function"
        for fn in ("parquetRead", "parquetReadObjects", "parquetMetadata", "snappyUncompress"):
            assert fn in r["globals"]["hyparquet"]
        assert r["scatter"] == {"numPoints": 4, "selected": [1, 2]}
        assert r["three"]["revision"]
        assert r["three"]["litPixels"] > 0, "three.js drew nothing"
        assert r["three"]["pickedIndex"] == 0, "raycaster did not pick the centre point"

        # data root follows <body data-root>
        assert r["dataRoot"] == ("../data/" if page_path.startswith("sub/") else "data/")

        # manifest.json: JSON with non-ASCII and markup intact
        assert r["manifest"]["title"] == SCRIPT_TEXT
        assert set(r["manifest"]["files"]) == {"tokens.parquet", "big_plain.parquet", "heads/points_L0H1.f32"}

        # snappy Parquet as rows: int64 -> Number, float32 exact, strings exact
        expected_rows = [
            {"id": i, "score": s, "text": t}
            for i, s, t in zip(TOKENS["id"], f32(TOKENS["score"]), TOKENS["text"])
        ]
        assert r["tokensRows"] == expected_rows
        assert all(t == {"id": "number", "score": "number", "text": "string"} for t in r["tokensTypes"])

        # same file as columns
        cols = r["tokensColumns"]
        assert cols["id"] == {"type": "Float64Array", "values": TOKENS["id"]}
        assert cols["score"] == {"type": "Float32Array", "values": f32(TOKENS["score"])}
        assert cols["text"]["values"] == TOKENS["text"]
        assert r["scoreOnly"] == {"score": cols["score"]}

        # uncompressed, 3 row groups, many pages, a nullable column with nulls
        big = big_table()
        assert len(r["bigRows"]) == BIG_ROWS
        assert [row["row"] for row in r["bigRows"]] == big["row"]
        assert [row["value"] for row in r["bigRows"]] == big["value"]
        maybe_f32 = [None if v is None else f32([v])[0] for v in big["maybe"]]
        assert [row["maybe"] for row in r["bigRows"]] == maybe_f32
        bc = r["bigColumns"]
        assert bc["row"]["values"] == big["row"]
        assert bc["value"]["values"] == big["value"]
        assert bc["maybe"]["values"] == maybe_f32

        # raw float32, including max float32, a denormal and -0.0
        assert r["points"]["type"] == "Float32Array"
        got = r["points"]["values"]
        assert got == f32(POINTS)
        assert math.copysign(1.0, got[5]) == -1.0

        # errors name the file / column
        assert '"does_not_exist.bin"' in r["missingError"]
        assert '"nope"' in r["missingColumnError"]

        assert r["deflated"] == f32(DEFLATED)  # a deflated twin, inflated
        # every file comes from its twin (fetched over http, a <script> on file://), each loaded once
        data_requests = [u.rsplit("/data/", 1)[1] for u in page.requested if "/data/" in u]
        for name in ("manifest.json", "tokens.parquet", "big_plain.parquet", "heads/points_L0H1.f32", "deflated.f32"):
            assert data_requests.count(name + ".js") == 1, (name, data_requests)
        assert not [u for u in data_requests if not u.endswith(".js")]

        assert r["sameBuffer"] is True
        assert r["leftoverGlobals"] == []  # base64 strings are freed after decoding
        assert r["unsafeAttr"] == "refused"

        # the markup in the data stays literal text
        cells = page.locator("#tokens td.text")
        assert cells.nth(1).text_content() == SCRIPT_TEXT
        assert cells.nth(1).get_attribute("title") == SCRIPT_TEXT
        assert page.locator("#tokens script").count() == 0
        assert page.locator("#tokens tr").count() == len(TOKENS["id"])
        assert page.locator("#status").text_content() == "done"
        assert dialogs == []
        assert errors == []
    finally:
        context.close()


@pytest.mark.browser
@skip_without_chromium
def test_url_state_and_back_button(browser, base_url):
    context, page, errors, _ = open_page(browser, base_url + "index.html?head=2#layer=1")
    try:
        page.wait_for_function(SMOKE_DONE, timeout=30_000)
        assert page.evaluate(f"{CORE}.query()") == {"head": "2", "layer": "1"}
        page.evaluate(
            """() => {
                const core = () => document.getElementById('status').core;
                window.seen = [];
                window.unsubscribe = core().onState((s) => window.seen.push(s));
                core().setQuery({layer: 3}, true);
                core().setQuery({layer: 4, token: 'a b&c'}, true);
                core().setQuery({token: null}, false);
            }"""
        )
        assert page.evaluate(f"{CORE}.query()") == {"head": "2", "layer": "4"}
        assert "layer=4" in page.url and "#" not in page.url
        page.go_back()
        page.wait_for_function("window.seen.length >= 1")
        assert page.evaluate(f"{CORE}.query()") == {"head": "2", "layer": "3"}
        page.go_forward()
        page.wait_for_function("window.seen.length >= 2")
        assert page.evaluate("window.seen") == [
            {"head": "2", "layer": "3"},
            {"head": "2", "layer": "4"},
        ]
        # a hand-edited hash also notifies, once
        page.evaluate("location.hash = 'layer=9'")
        page.wait_for_function("window.seen.length >= 3")
        page.wait_for_timeout(100)
        assert page.evaluate("window.seen.length") == 3
        assert page.evaluate("window.seen[2]") == {"head": "2", "layer": "9"}
        assert errors == []
    finally:
        context.close()


#: sha256 (hex) of the bytes the data core hands over for each name, loaded one after another.
DIGESTS = """async (names) => {
  const core = document.getElementById('status').core, out = {};
  for (const name of names) {
    const digest = await crypto.subtle.digest('SHA-256', await core.loadBytes(name));
    out[name] = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
  }
  return out;
}"""


@pytest.mark.browser
@skip_without_chromium
@pytest.mark.parametrize("how", ["file", "http"])
def test_a_page_loads_every_kind_of_data_file(tiny_site, tiny_image_site, browser, tmp_path, how):
    """In built sites (a text model with the live probe, an image model), a page in the model's
    folder loads, through the data core, the smallest file of every kind (parquet, float32, uint16,
    uint8, json, jpeg, the ONNX model, the encoder's arrays) in both forms of twin (plain base64,
    deflated), from file:// and over http: each hands over exactly the bytes of the manifest
    (sha256), and only twins are requested."""
    from browser import model_base
    from sites import model_folder, read_manifest

    seen = set()
    for site in (tiny_site, tiny_image_site):
        copy = tmp_path / site.parent.name / "site"
        shutil.copytree(site, copy)  # the shared sites stay as built
        folder = model_folder(copy)
        shutil.copy(FIXTURE / "smoke.js", folder / "smoke.js")  # the data core, as .core of #status
        (folder / "loader.html").write_text('<!doctype html><meta charset="utf-8"><body data-root=""><div id="status"></div><script src="smoke.js"></script>')
        files = read_manifest(copy)["files"]
        picks: dict[tuple[str, bool], str] = {}
        for name, entry in sorted(files.items(), key=lambda item: (item[1]["bytes"], item[0])):
            picks.setdefault((entry["kind"], bool(entry.get("deflate"))), name)
        with model_base(copy, how) as base:
            context = browser.new_context()
            page = context.new_page()
            requests: list[str] = []
            page.on("request", lambda req: requests.append(req.url))
            page.goto(base + "loader.html")
            page.wait_for_function(SMOKE_DONE, timeout=30_000)  # its own checks fail here (no such files): only .core is used
            got = page.evaluate(DIGESTS, sorted(picks.values()))
            context.close()
        assert got == {name: files[name]["sha256"] for name in picks.values()}
        data_requests = [u.rsplit("/data/", 1)[1] for u in requests if "/data/" in u]
        for name in picks.values():
            assert data_requests.count(name + ".js") == 1, (name, data_requests)
        assert all(u.endswith(".js") for u in data_requests), data_requests
        seen |= set(picks)
    assert {kind for kind, _ in seen} >= {"parquet", "float32", "uint16", "uint8", "json", "jpeg", "onnx", "float32-arrays"}
    assert {deflated for _, deflated in seen} == {True, False}
