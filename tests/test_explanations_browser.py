"""Rule explanations on the factor pages (issue 25), in a real browser against the data read in
Python: the factor page shows the explanation row of the factor and layer shown (or the peak
layer's, said so) with its detection and one-token scores, and outlines exactly the tokens of its
top contexts (text sites) or the patches of its images (image sites: on every tile and the opened
whole image, switched off and on by the toolbar's check box) where the rule holds, the labels
computed here from tokens.parquet as the manifest's feature definitions say
(test_explanations.reference_labels); the factor index has a sortable score column and an
explanation column, and its filter and word search find a factor by a word of its explanation; a
site without explanations says so in one line."""

import json
import re
import shutil

import pytest
from sites import model_folder, read_manifest
from test_explanations import reference_labels
from test_site_browser import open_site

from browser import skip_without_chromium
from tfvis_site.site.bundles import js_twin, read_data_table
from tfvis_site.site.layout import MANIFEST

pytestmark = [pytest.mark.browser, skip_without_chromium]


def js_fixed(x: float, digits: int) -> str:
    """JavaScript's x.toFixed(digits): the exact binary value rounded half up (Python's format
    rounds half to even: 0.625 is "0.62" there, "0.63" in JavaScript)."""
    from decimal import ROUND_HALF_UP, Decimal

    return str(Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def _rows(site) -> dict[tuple[int, int], dict]:
    m = read_manifest(site)
    return {(r["factor"], r["layer"]): r for r in read_data_table(model_folder(site) / "data", m["factors"]["explanations"]["file"]).to_pylist()}


def _holds(site, rule: dict) -> list[bool]:
    """Per token of tokens.parquet: the rule holds there."""
    spec = read_manifest(site)["factors"]["explanations"]["features"]
    tokens = read_data_table(model_folder(site) / "data", "tokens.parquet")
    holds = [True] * tokens.num_rows
    for cond in rule["all"]:
        labels = reference_labels(tokens, cond["feature"], spec[cond["feature"]])
        holds = [h and lab is not None and lab in cond["values"] for h, lab in zip(holds, labels)]
    return holds


def _top_contexts(site, f: int, layer: int) -> list[tuple[int, int]]:
    fs = read_manifest(site)["factors"]
    topk = read_data_table(model_folder(site) / "data", fs["files"]["topk"].format(chunk=f // fs["chunk_size"])).to_pylist()
    return [(r["sentence_id"], r["position"]) for r in sorted(topk, key=lambda r: r["rank"]) if r["factor"] == f and r["layer"] == layer]


def _pick(site) -> dict:
    """An explained peak row with a rule and top contexts where the rule holds on tokens other than
    the activating one, preferring a rule that reads the context."""
    rows = [r for r in _rows(site).values() if r["peak"] and r["explained"] and r["rule"] and _top_contexts(site, r["factor"], r["layer"])]
    assert rows, "the tiny site has no explained factor"
    return max(rows, key=lambda r: (any(c["feature"] != "token" for c in json.loads(r["rule"])["all"]), r["score"], -r["factor"]))


def _expected_tokens(site, holds, sid: int, pos: int) -> list[tuple[str, bool]]:
    """The tokens a context shows with w=all (the whole text, special tokens only when activating)
    and whether the rule holds on each."""
    data = model_folder(site) / "data"
    sentences = read_data_table(data, "sentences.parquet").to_pydict()
    tokens = read_data_table(data, "tokens.parquet", columns=["text", "is_special"]).to_pydict()
    start = sentences["token_offset"][sid]
    end = start + sentences["n_tokens"][sid]
    return [(tokens["text"][i], holds[i]) for i in range(start, end) if not tokens["is_special"][i] or i == start + pos]


@pytest.mark.parametrize("how", ["file", "http"])
def test_factor_page_shows_the_explanation_and_outlines_its_matches(tiny_site, how):
    row = _pick(tiny_site)
    f, layer = row["factor"], row["layer"]
    holds = _holds(tiny_site, json.loads(row["rule"]))
    contexts = _top_contexts(tiny_site, f, layer)
    with open_site(tiny_site, how) as (page, base):
        page.goto(base + f"factor.html?f={f}&w=all")
        page.wait_for_selector(f"body[data-ready='{f},{layer}']")
        box = page.locator("#fexplain")
        assert box.locator(".fx-label").inner_text().strip() == f"Explanation at layer {layer}:"
        assert box.locator(".fx-text").inner_text() == row["text"]
        assert float(box.locator(".fx-score").get_attribute("data-value")) == pytest.approx(row["score"])
        assert box.locator(".fx-score").inner_text() == "detection score " + js_fixed(row["score"], 2)
        assert float(box.locator(".fx-one").get_attribute("data-value")) == pytest.approx(row["one_token_score"])
        assert box.locator(".fx-one").inner_text() == "one token alone " + js_fixed(row["one_token_score"], 2)
        items = page.locator("#contexts li.ctx")
        assert items.count() == len(contexts)
        outlined = 0
        for k, (sid, pos) in enumerate(contexts):
            shown = items.nth(k).locator(".ctx-text .ctok").evaluate_all("ts => ts.map(t => [t.textContent, t.classList.contains('rule')])")
            want = _expected_tokens(tiny_site, holds, sid, pos)
            assert [tuple(t) for t in shown] == want, (sid, pos)
            outlined += sum(h for _, h in want)
        assert outlined > 0
        # a layer without an explanation row shows the peak layer's, and says so
        rows = _rows(tiny_site)
        other = next((lay for lay in range(read_manifest(tiny_site)["factors"]["n_layers"]) if (f, lay) not in rows), None)
        if other is not None:
            page.goto(base + f"factor.html?f={f}&l={other}")
            page.wait_for_selector(f"body[data-ready='{f},{other}']")
            assert f"at its peak layer {layer} (layer {other} is not explained)" in box.locator(".fx-label").inner_text()
            assert box.locator(".fx-text").inner_text() == row["text"]


def test_factor_index_sorts_by_score_and_finds_explanations(tiny_site):
    rows = [r for r in _rows(tiny_site).values() if r["peak"]]
    row = _pick(tiny_site)
    by_score = sorted((r for r in rows if r["score"] is not None), key=lambda r: (-r["score"], r["factor"]))
    with open_site(tiny_site, "http") as (page, base):
        page.goto(base + "factors.html")
        page.wait_for_selector("#ftbody tr td.expl-cell")
        cells = page.locator("#ftbody tr").evaluate_all(
            "trs => trs.map(tr => [+tr.cells[0].textContent, tr.querySelector('.col-score').textContent, tr.querySelector('.expl-cell').textContent])")
        peak = {r["factor"]: r for r in rows}
        assert [(fid, score, text) for fid, score, text in cells] == [
            (fid, "–" if peak[fid]["score"] is None else js_fixed(peak[fid]["score"], 2), peak[fid]["text"]) for fid, _, _ in cells]
        page.locator("#ftable th[data-sort=expl_score] button").click()
        page.wait_for_function("() => new URLSearchParams(location.search).get('sort') === 'expl_score'")
        order = page.locator("#ftbody tr td:first-child").evaluate_all("tds => tds.map(td => +td.textContent)")
        assert order[:len(by_score)] == [r["factor"] for r in by_score][:len(order)]
        assert page.locator("#ftable th[data-sort=expl_score]").get_attribute("aria-sort") == "descending"
        page.locator("#ftable th[data-sort=expl_score] button").click()
        page.wait_for_function("() => new URLSearchParams(location.search).get('dir') === null")
        asc = page.locator("#ftbody tr td:first-child").evaluate_all("tds => tds.map(td => +td.textContent)")
        ascending = [r["factor"] for r in sorted(by_score, key=lambda r: (r["score"], r["factor"]))]
        assert asc[:len(by_score)] == ascending[:len(asc)]
        # a word of the explanation finds the factor, in the table filter and in the word search
        word = max(re.findall(r"[^\W_]+", row["text"].replace("the token", "")), key=len).lower()
        page.fill("#f-token", word)
        page.wait_for_function("() => new URLSearchParams(location.search).get('tok') !== null")
        found = page.locator("#ftbody tr td:first-child").evaluate_all("tds => tds.map(td => +td.textContent)")
        assert row["factor"] in found
        page.goto(base + "factors.html?q=" + word)
        page.wait_for_selector(".expl-hits")
        hits = page.locator(".expl-hits li a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert f"factor.html?f={row['factor']}" in hits


def _without_explanations(site, out):
    """A copy of ``site`` at ``out`` with its data as a build without explanations: no manifest
    section, no file."""
    shutil.copytree(site, out)
    data = model_folder(out) / "data"
    m = json.loads((model_folder(out) / MANIFEST).read_text())
    name = m["factors"].pop("explanations")["file"]
    (data / (name + ".js")).unlink()
    m["files"].pop(name)
    payload = json.dumps(m).encode()
    (model_folder(out) / MANIFEST).write_bytes(payload)
    (model_folder(out) / (MANIFEST + ".js")).write_bytes(js_twin("manifest.json", payload))
    return out


@pytest.fixture(scope="module")
def site_without_explanations(tiny_site, tmp_path_factory):
    """The tiny site as a build without explanations."""
    return _without_explanations(tiny_site, tmp_path_factory.mktemp("no-explanations") / "site")


def test_a_site_without_explanations_says_so(site_without_explanations):
    with open_site(site_without_explanations, "file") as (page, base):
        page.goto(base + "factor.html?f=0")
        page.wait_for_selector("body[data-ready]")
        assert page.locator("#fexplain").inner_text() == "This site was built without explanations."
        assert page.locator("#contexts .ctok.rule").count() == 0
        page.goto(base + "factors.html")
        page.wait_for_selector("#ftbody tr")
        assert "This site was built without explanations." in page.locator("#expl-none").inner_text()
        assert page.locator("#ftable th.col-score, #ftbody td.expl-cell").count() == 0


def test_head_page_lists_factors_with_their_explanations(tiny_site):
    """Each factor of the head page's tables: its explanation at the hidden state listed (else at
    its peak layer) beside its number when it explains the factor, the full text in the title."""
    rows = _rows(tiny_site)
    peak = {r["factor"]: r for r in rows.values() if r["peak"]}
    with open_site(tiny_site, "file") as (page, base):
        page.goto(base + "attention-head.html?l=1&h=2")
        page.wait_for_selector("#att-circuits[data-ready='1,2']")
        cells = page.locator("td.circ-f").evaluate_all(
            "tds => tds.map(td => { const s = td.querySelector('.circ-expl'); "
            "return [td.querySelector('a.circ-factor').getAttribute('href'), s ? s.textContent : null, s ? s.title : null]; })")
        assert cells
        n_explained = 0
        for href, text, title in cells:
            f, hidden = map(int, re.fullmatch(r"factor\.html\?f=(\d+)&l=(\d+)", href).groups())
            row = rows.get((f, hidden)) or peak[f]
            if row["explained"]:
                n_explained += 1
                assert text == row["text"] and title == f"{row['text']} (explanation at layer {row['layer']}, detection score {js_fixed(row['score'], 2)})"
            else:
                assert text is None
        assert n_explained > 0


# ----------------------------------------------------------------------------- image sites


def _image_rule_pick(site) -> tuple[dict, dict[int, list[int]]]:
    """An explained peak rule of the tiny image site, testing a "cuts" feature (row, col,
    brightness, frequency) and the hue when one does (both kinds of label), with one of its top
    contexts' images holding it on some but not all of its patches; and its units (_rule_units)."""
    grid = read_manifest(site)["image"]["grid"]
    n_patches = grid[0] * grid[1]
    rows = []
    for r in _rows(site).values():
        if r["peak"] and r["explained"] and r["rule"]:
            want = _rule_units(site, _holds(site, json.loads(r["rule"])))
            if any(0 < len(want[sid]) < n_patches for sid, _ in _top_contexts(site, r["factor"], r["layer"])):
                rows.append((r, want))
    assert rows, "the tiny image site has no explained factor whose images it outlines in part"

    def kinds(r):
        return {c["feature"] for c in json.loads(r["rule"])["all"]}

    return max(rows, key=lambda rw: ("hue" in kinds(rw[0]) and len(kinds(rw[0])) == 2,
                                     kinds(rw[0]) & {"row", "col", "brightness", "frequency"} != set(), rw[0]["score"], -rw[0]["factor"]))


def _rule_units(site, holds) -> dict[int, list[int]]:
    """Per image: the units (positions) where the rule holds (prefix tokens, [CLS] and registers,
    have no label of a "cuts" or "hue" feature: none_when is_special)."""
    sentences = read_data_table(model_folder(site) / "data", "sentences.parquet").to_pydict()
    return {sid: [u for u in range(n) if holds[start + u]] for sid, (start, n) in enumerate(zip(sentences["token_offset"], sentences["n_tokens"]))}


def _marks(page, sel) -> list:
    """data-rule of the canvases: the units outlined, or None where nothing is outlined."""
    return page.locator(sel).evaluate_all("cs => cs.map(c => c.dataset.rule === undefined ? null : c.dataset.rule.split(' ').filter(Boolean).map(Number))")


def _edge_points(geo, units, k) -> list[list[float]]:
    """Canvas points (scale k) on the outline's border: the middle of the edges between a patch
    where the rule holds and a neighbour where it does not, inside the image."""
    P, (rows, cols), s = geo["n_prefix_tokens"], geo["grid"], geo["patch_size"]
    on = {u - P for u in units}
    points = []
    for p in sorted(on):
        r, c = divmod(p, cols)
        if c + 1 < cols and p + 1 not in on:
            points += [[(c + 1) * s * k, (r + f) * s * k] for f in (0.3, 0.5, 0.7)]
        if r + 1 < rows and p + cols not in on:
            points += [[(c + f) * s * k, (r + 1) * s * k] for f in (0.3, 0.5, 0.7)]
    return points


def test_image_factor_page_outlines_the_patches_where_the_rule_holds(tiny_image_site):
    site = tiny_image_site
    row, want = _image_rule_pick(site)
    f, layer = row["factor"], row["layer"]
    geo = read_manifest(site)["image"]
    n_patches = geo["grid"][0] * geo["grid"][1]
    contexts = _top_contexts(site, f, layer)
    # the detail opens an image where the outline has a border inside the image
    rank = next(k for k, (sid, _) in enumerate(contexts) if 0 < len(want[sid]) < n_patches)
    sid = contexts[rank][0]
    with open_site(site, "http") as (page, base):
        page.goto(base + f"factor.html?f={f}")
        page.wait_for_selector(f"body[data-drawn='{f},{layer}']")
        assert page.locator("#overlay-note .rule-legend").inner_text().strip() == f"Dashed outline: patches where the rule holds: {row['text']}."
        assert page.locator("#rule-toggle").is_visible() and page.locator("#rule-marks").is_checked()
        images = page.locator("#contexts li.ctx-img").evaluate_all("lis => lis.map(li => +li.dataset.image)")
        assert images == [sid for sid, _ in contexts]
        assert _marks(page, "#contexts li.ctx-img canvas") == [want[i] for i in images]
        page.wait_for_selector(f"#quantiles[data-ready='{f},{layer}']")
        q_images = page.locator("#quantiles li.ctx-img").evaluate_all("lis => lis.map(li => +li.dataset.image)")
        assert _marks(page, "#quantiles li.ctx-img canvas") == [want[i] for i in q_images]

        # the opened whole image, plain: outlined where the rule holds, drawn on the pixels
        page.goto(base + f"factor.html?f={f}&c={rank}&d=none")
        page.wait_for_selector("#detail-canvas[data-mode='none'][data-drawn][data-rule]")
        assert _marks(page, "#detail-canvas") == [want[sid]]
        P = geo["n_prefix_tokens"]
        assert min(want[sid]) >= P
        assert page.locator("#ctx-detail .rule-count").inner_text().strip() == f"The rule holds on {len(want[sid])} of the {n_patches} patches of this image."
        width = page.locator("#detail-canvas").evaluate("c => c.width")
        points = _edge_points(geo, want[sid], width / geo["size"][1])
        assert points
        marked = page.evaluate(PIXELS_AT, ["#detail-canvas", points])

        # switched off: no outline, no legend, the same pixels differ on the outline's border
        page.locator("#rule-marks").uncheck()
        page.wait_for_selector("#detail-canvas[data-mode='none'][data-drawn]:not([data-rule])")
        page.wait_for_selector(f"body[data-drawn='{f},{layer}']")
        assert "r=0" in page.url
        assert _marks(page, "#contexts li.ctx-img canvas, #quantiles li.ctx-img canvas, #detail-canvas") == [None] * (len(images) + len(q_images) + 1)
        assert page.locator("#overlay-note .rule-legend, #ctx-detail .rule-count").count() == 0
        plain = page.evaluate(PIXELS_AT, ["#detail-canvas", points])
        assert sum(a != b for a, b in zip(marked, plain)) >= len(points) // 2
        page.locator("#rule-marks").check()
        page.wait_for_selector("#detail-canvas[data-mode='none'][data-drawn][data-rule]")
        assert "r=0" not in page.url and _marks(page, "#detail-canvas") == [want[sid]]

        # a factor without an explained rule: nothing outlined, no check box
        other = next(r for r in _rows(site).values() if r["peak"] and not r["explained"] and _top_contexts(site, r["factor"], r["layer"]))
        page.goto(base + f"factor.html?f={other['factor']}")
        page.wait_for_selector(f"body[data-drawn='{other['factor']},{other['layer']}']")
        assert page.locator("#rule-toggle").is_hidden()
        assert set(map(str, _marks(page, "#contexts li.ctx-img canvas"))) == {"None"}


PIXELS_AT = """([sel, points]) => {
  const c = document.querySelector(sel);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  return points.map(([x, y]) => { const i = 4 * (Math.floor(y) * c.width + Math.floor(x)); return [d[i], d[i + 1], d[i + 2]]; });
}"""


def test_an_image_site_without_explanations(tiny_image_site, tmp_path):
    site = _without_explanations(tiny_image_site, tmp_path / "site")
    with open_site(site, "file") as (page, base):
        page.goto(base + "factor.html?f=0&c=0")
        page.wait_for_selector("body[data-drawn]")
        assert page.locator("#fexplain").inner_text() == "This site was built without explanations."
        assert page.locator("#rule-toggle").is_hidden()
        assert page.locator("#contexts canvas[data-rule], #detail-canvas[data-rule]").count() == 0
        assert page.locator("#contexts li.ctx-img canvas[data-drawn]").count() > 0
