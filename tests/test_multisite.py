"""One site, several models (issue 11 item 4): a tiny BERT and the tiny Llama (GQA) in one site.

The gallery compares them from their manifests, each model keeps its pages and data in
models/<slug>/ with the assets once at the root, adding a model to a built site computes only
that model, two models with one slug are a one-line error, probe and serve pick a model with
--model SLUG, and in a real browser the header's switcher keeps the view."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HOSTILE_TEXTS
from test_build import site_digest

from browser import skip_without_chromium
from sites import assert_ships_once
from tfvis_site.cli import main
from tfvis_site.run.config import resolve
from tfvis_site.site.layout import model_dir, site_models
from tfvis_site.run.build import build
from tfvis_site.progress import Reporter

STAGES = ("extract", "extract-attention", "factors", "lime", "attention")


@pytest.fixture(scope="module")
def multi(tiny_checkpoints, tmp_path_factory):
    """A site of the tiny BERT, then the same site with the tiny Llama added: (site, both builds)."""
    root = tmp_path_factory.mktemp("multisite")
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(HOSTILE_TEXTS) + "\n")
    flags = {"preset": "quick", "corpus": corpus, "out": root / "site", "cache_dir": root / "cache"}
    first = build(resolve(None, {**flags, "model": tiny_checkpoints["bert"]}), Reporter.silent())
    models = [{"model": tiny_checkpoints["bert"]}, {"model": tiny_checkpoints["llama"], "title": "<b>tiny</b> Llama"}]
    second = build(resolve(None, {**flags, "models": models}), Reporter.silent())
    return root / "site", first, second


def test_adding_a_model_computes_only_that_model(multi):
    site, first, second = multi
    assert list(first.models) == ["bert"] and list(second.models) == ["bert", "llama"]
    assert all(first.cache_hits[s] is False for s in STAGES)
    assert all(second.models["bert"].cache_hits[s] for s in STAGES)  # nothing of BERT recomputed
    assert not any(second.models["llama"].cache_hits[s] for s in STAGES)
    assert second.models["bert"].manifest == first.manifest  # the same model, the same data
    with pytest.raises(ValueError, match="2 models"):
        second.manifest  # noqa: B018  (which one? the result says to pick)
    assert site_models(site) == ["bert", "llama"]
    assert not (site / "data").exists() and (site / "assets/js/gallery.js").is_file()
    assert not [p for p in site.parent.iterdir() if "building" in p.name or "-old-" in p.name]
    for slug, model in second.models.items():  # each model's data files ship once, as .js twins
        assert_ships_once(model_dir(site, slug) / "data", model.manifest["files"])


def test_gallery_compares_the_models(multi):
    site, _, second = multi
    html = (site / "index.html").read_text()
    cards = re.findall(r'<article class="card model-card".*?</article>', html, re.S)
    assert len(cards) == 2 and 'data-slug="bert"' in cards[0] and 'data-slug="llama"' in cards[1]
    assert "<b>tiny</b>" not in html and "&lt;b&gt;tiny&lt;/b&gt; Llama" in cards[1]  # a title is text, escaped
    for card, slug in zip(cards, ("bert", "llama")):
        m = second.models[slug].manifest
        q = m["factors"]["quality"]["overall"]
        paper = m["attention"]["summary"]["spearman_paper_after"]["mean"]
        assert f"<dd>{m['model']['family']}</dd>" in card
        assert f"<dd>{m['model']['n_layers']} blocks · {m['layers']} hidden states</dd>" in card
        assert f"{m['model']['n_heads']} per layer · {m['model']['n_layers'] * m['model']['n_heads']} in all" in card
        assert f"FVU</dt><dd>{q['fvu']:.3f}" in card and f"{m['corpus']['sentences']} texts" in card
        assert f"{paper:+.2f}".replace("-", "\u2212") + " after normalisation" in card
        for label, n in m["attention"]["summary"]["label_counts"].items():
            assert re.search(rf"att-lab-{label}\">[^<]+</span> {n}</li>", card)
        for href in re.findall(r'href="(models/[^"]+)"', card):  # every link of the card leads to a page
            assert (site / href).is_file(), href
    assert "2 key/value heads" in cards[1] and "decoder" in cards[1] and "encoder" in cards[0]


def test_switcher_links_lead_to_the_same_view(multi):
    site, _, _ = multi

    def links(slug: str, page: str) -> dict[str, str]:
        """The switcher of a page: other model's label -> href, and "current" -> this model's label."""
        html = (model_dir(site, slug) / page).read_text()
        nav = re.search(r'<nav class="model-switch".*?</nav>', html, re.S).group(0)
        hrefs = {label: href for href, label in re.findall(r'<a class="model-link" href="([^"]+)"[^>]*>([^<]+)</a>', nav)}
        return {**hrefs, "current": re.search(r'aria-current="true"[^>]*>([^<]+)<', nav).group(1)}

    assert links("bert", "attention.html") == {"llama": "../../models/llama/attention.html", "current": "bert"}
    assert links("bert", "factor.html")["llama"] == "../../models/llama/factors.html"
    assert links("llama", "tokens.html")["bert"] == "../../models/bert/tokens.html"
    head = (model_dir(site, "bert") / "attention-head.html").read_text()
    assert 'data-keep="l,h,proj,dim,color,size,hide,heat,arrows" data-layers="2" data-heads="4" data-fallback="attention.html"' in head


def test_two_models_with_one_slug(multi, tiny_checkpoints, tmp_path, capsys):
    site, _, _ = multi
    before = site_digest(site)
    twin = shutil.copytree(tiny_checkpoints["bert"], tmp_path / "elsewhere" / "bert")
    args = ["build", "--quiet", "--preset", "quick", "--out", str(site), "--cache-dir", str(site.parent / "cache")]
    assert main([*args, "--model", str(tiny_checkpoints["bert"]), "--model", str(twin)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "two models with the slug 'bert'" in err and "[[models]]" in err
    assert site_digest(site) == before
    # the way out the message names: a slug of its own in the config file
    config = tmp_path / "two.toml"
    config.write_text(f'[[models]]\nmodel = "{tiny_checkpoints["bert"]}"\n[[models]]\nmodel = "{twin}"\nslug = "bert-copy"\ncorpus = "{site.parent / "corpus.txt"}"\n')
    out = tmp_path / "two"
    assert main([*args[:-4], "--out", str(out), "--cache-dir", str(site.parent / "cache"), "--corpus", str(site.parent / "corpus.txt"), "--config", str(config)]) == 0
    assert site_models(out) == ["bert", "bert-copy"]
    assert "bert (bert-copy)" in (out / "index.html").read_text()  # one name twice: told apart by slug


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tfvis_site", *args], capture_output=True, text=True)


def test_probe_and_serve_pick_a_model(multi):
    site, _, _ = multi
    cache = ["--cache-dir", str(site.parent / "cache")]
    ambiguous = _cli("probe", str(site), "--top", "1", "The cat.", *cache)
    assert ambiguous.returncode == 2 and "holds 2 models (bert, llama); pick one with --model SLUG" in ambiguous.stderr
    assert len(ambiguous.stderr.strip().splitlines()) == 1
    unknown = _cli("probe", str(site), "--model", "gpt9", "--top", "1", "The cat.", *cache)
    assert unknown.returncode == 2 and "--model gpt9" in unknown.stderr and "bert, llama" in unknown.stderr
    picked = _cli("probe", str(site), "--model", "llama", "--top", "2", "--json", "The cat sat.", *cache)
    assert picked.returncode == 0, picked.stderr
    result = json.loads(picked.stdout)
    assert result["tokens"] and result["layers"] == [0, 1, 2]  # the Llama's hidden states
    assert _cli("serve", str(site), "--model", "gpt9", "--port", "0").returncode == 2
    server = subprocess.Popen([sys.executable, "-m", "tfvis_site", "serve", str(site), "--model", "llama", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert re.search(r"http://127\.0\.0\.1:\d+/models/llama/index\.html", line), line


@pytest.mark.browser
@skip_without_chromium
@pytest.mark.parametrize("how", ["file", "http"])
def test_switcher_keeps_the_view_and_gallery_links_work(multi, how):
    from playwright.sync_api import expect
    from test_site_browser import open_site  # playwright is needed by browser tests only

    site, _, _ = multi
    with open_site(site, how, root=True) as (page, base):
        page.goto(base + "index.html")
        page.locator('article[data-slug="llama"] h2 a').click()
        page.wait_for_url("**/models/llama/index.html")
        expect(page.locator(".model-switch [aria-current]")).to_have_text("llama")
        page.locator("nav[aria-label=Site] a", has_text="Attention").click()
        page.wait_for_url("**/models/llama/attention.html")
        page.select_option("#att-color", "position")
        page.wait_for_function("location.search.includes('color=position')")
        page.locator('input[name="dim"][value="3"]').check()
        page.wait_for_function("location.search.includes('dim=3')")
        state = page.evaluate("location.search")
        # matrix -> matrix, with the projection and colour chosen
        page.locator(".model-switch a", has_text="bert").click()
        page.wait_for_url("**/models/bert/attention.html?*")
        assert page.evaluate("location.search") == state
        expect(page.locator('input[name="dim"][value="3"]')).to_be_checked()
        expect(page.locator("#att-color")).to_have_value("position")
        # head -> the same head; one the other model lacks (layer 5 of 2) -> its matrix
        page.goto(base + "models/bert/attention-head.html?l=1&h=3&s=2&t=1")
        page.locator(".model-switch a", has_text="llama").click()
        page.wait_for_url("**/models/llama/attention-head.html?*")
        assert page.evaluate("location.search") == "?l=1&h=3"  # s, t: sentences of the other sample
        page.goto(base + "models/llama/attention-head.html?l=5&h=0&proj=pca")
        page.locator(".model-switch a", has_text="bert").click()
        page.wait_for_url("**/models/bert/attention.html?proj=pca")
        # factor index -> factor index with its search; a factor page -> the factor index
        page.goto(base + "models/bert/factors.html?q=cat")
        page.locator(".model-switch a", has_text="llama").click()
        page.wait_for_url("**/models/llama/factors.html?q=cat")
        expect(page.locator("#q")).to_have_value("cat")
        page.goto(base + "models/llama/factor.html?f=3")
        page.locator(".model-switch a", has_text="bert").click()
        page.wait_for_url("**/models/bert/factors.html")
        page.locator(".brand").click()  # back to the gallery
        page.wait_for_url(re.compile(r".*/index\.html$"))
        expect(page.locator("article.model-card")).to_have_count(2)


def test_models_table_in_the_config_file(tmp_path):
    from tfvis_site.run.config import model_flags
    from tfvis_site.errors import UserError

    (tmp_path / "ckpt").mkdir()
    config = tmp_path / "site.toml"
    config.write_text('title = "Side by side"\ncorpus = "texts.txt"\n[[models]]\nmodel = "ckpt"\n[[models]]\nmodel = "smollm2"\ncorpus = "other.txt"\nslug = "small"\n')
    entries = resolve(config, {}).model_configs()
    assert [(c.model, c.corpus, c.slug, c.title) for c in entries] == [
        (tmp_path / "ckpt", tmp_path / "texts.txt", "", ""),  # paths relative to the file; the shared corpus
        (Path("smollm2"), tmp_path / "other.txt", "small", ""),  # a built-in name stays a name
    ]
    assert resolve(config, model_flags([Path("minilm")])).model_configs()[0].model == Path("minilm")  # --model replaces [[models]]
    for bad, message in [('[[models]]\ncorpus = "x.txt"\n', "entry 1 has no model"), ('[[models]]\nmodel = "a"\nseed = 3\n', "unknown key 'seed'"),
                         ('[[models]]\nmodel = "a"\nslug = "A b"\n', "slug 'A b' must be lowercase"), ('models = "a"\n', "must be a list of tables")]:
        config.write_text(bad)
        with pytest.raises(UserError, match=message):
            resolve(config, {})


def test_where_a_page_leads_in_another_model():
    from tfvis_site.site.pages.switcher import target_page

    text = ["index.html", "tokens.html", "factors.html", "factor.html", "quality.html", "attention.html", "attention-head.html"]
    image = text + ["images.html"]
    assert target_page("attention.html", text) == "attention.html"
    assert target_page("factor.html", image) == "factors.html"  # a factor id names nothing in another dictionary
    assert target_page("images.html", text) == "index.html"  # an image-only page -> the text model's overview
    assert target_page("factors.html", ["index.html", "tokens.html", "attention.html"]) == "index.html"  # a build without factors
