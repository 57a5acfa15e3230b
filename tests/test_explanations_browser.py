"""Rule explanations on the factor pages (issue 25), in a real browser against the data read in
Python: the factor page shows the explanation row of the factor and layer shown (or the peak
layer's, said so) with its detection and one-token scores, and outlines exactly the tokens of its
top contexts where the rule holds, the labels computed here from tokens.parquet as the manifest's
feature definitions say (test_explanations.reference_labels); the factor index has a sortable
score column and an explanation column, and its filter and word search find a factor by a word of
its explanation; a site without explanations says so in one line."""

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


@pytest.fixture(scope="module")
def site_without_explanations(tiny_site, tmp_path_factory):
    """The tiny site with its data as a build without explanations: no manifest section, no file."""
    out = tmp_path_factory.mktemp("no-explanations") / "site"
    shutil.copytree(tiny_site, out)
    data = model_folder(out) / "data"
    m = json.loads((model_folder(out) / MANIFEST).read_text())
    name = m["factors"].pop("explanations")["file"]
    (data / (name + ".js")).unlink()
    m["files"].pop(name)
    payload = json.dumps(m).encode()
    (model_folder(out) / MANIFEST).write_bytes(payload)
    (model_folder(out) / (MANIFEST + ".js")).write_bytes(js_twin("manifest.json", payload))
    return out


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
