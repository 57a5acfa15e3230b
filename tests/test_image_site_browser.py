"""An image model's site in a real browser (Debian chromium), from file:// and from a local http
server: the overview (image corpus card, sample thumbnails, AttentionViz statistic), the image
browser (grid, large view with the patch grid, patch details and links, URL state), hostile image
names, and no horizontal scrolling on a 390 px phone screen."""

import contextlib
import io

import pytest
from conftest import HOSTILE_IMAGE_NAME
from playwright.sync_api import expect

from browser import block_external_requests, console_errors, model_base, skip_without_chromium
from sites import model_folder
from tfvis_site.site.bundles import read_data_table

pytestmark = [pytest.mark.browser, skip_without_chromium]


@contextlib.contextmanager
def open_site(browser, site, how, **context):
    with model_base(site, how) as base:
        ctx = browser.new_context(**context)
        page = ctx.new_page()
        errors = console_errors(page)
        external = block_external_requests(page)
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        yield page, base
        assert errors == []
        assert external == []
        assert dialogs == []  # no alert() from a hostile file name
        ctx.close()


def not_blank(png: bytes) -> bool:
    """True when a screenshot has real picture content (more than a couple of colours)."""
    from PIL import Image

    im = Image.open(io.BytesIO(png)).convert("RGB")
    colours = im.getcolors(maxcolors=1 << 16)
    return colours is None or len(colours) > 8


def url_has(page, part: str) -> None:
    """Wait until the page's URL contains ``part`` (page.url follows pushState a little later)."""
    page.wait_for_function("part => location.href.includes(part)", arg=part)


def attention_rows(site) -> dict[int, int]:
    """image index -> row of attention/sentences.parquet (the attention pages' s=)."""
    ids = read_data_table(model_folder(site) / "data", "attention/sentences.parquet", columns=["sentence_id"]).column(0).to_pylist()
    return {int(sid): row for row, sid in enumerate(ids)}


def image_names(site) -> list[str]:
    return read_data_table(model_folder(site) / "data", "sentences.parquet", columns=["text"]).column(0).to_pylist()


@pytest.mark.parametrize("how", ["file", "http"])
def test_overview_image_card_thumbnails_and_attentionviz(browser, tiny_image_site, how):
    with open_site(browser, tiny_image_site, how) as (page, base):
        page.goto(base + "index.html")
        corpus = page.locator("#corpus-h + dl").inner_text()
        assert "6 × 6 patches" in corpus and "[CLS] + 2 registers" in corpus
        assert page.locator("nav[aria-label=Site] a", has_text="Images").count() == 1
        assert page.locator("nav[aria-label=Site] a", has_text="Tokens").count() == 0
        page.wait_for_selector("#image-strip[data-ready='1']")
        # (a locator, not wait_for_function: polling a string predicate needs eval, which the CSP forbids)
        expect(page.locator("#image-strip canvas:not([data-drawn])")).to_have_count(0)
        thumbs = page.locator("#image-strip .thumb")
        assert thumbs.count() == 12
        assert not_blank(thumbs.nth(1).locator("canvas").screenshot())
        # the hostile file name is shown as text, nothing is made of it
        assert page.locator("#image-strip img, #image-strip script").count() == 0
        assert HOSTILE_IMAGE_NAME in page.locator("#image-strip").inner_text()
        # the AttentionViz statistic with the paper's numbers beside ours, and the image head labels
        table = page.locator("table.paper-compare").inner_text()
        assert "this model, after normalisation" in table and "paper: ViT" in table and "−0.873 (ViT-B/32) / −0.884 (ViT-B/16)" in table
        assert page.locator(".label-counts li").count() >= 1
        page.click(".explore >> text=Images")
        page.wait_for_selector("#images li")


@pytest.mark.parametrize("how", ["file", "http"])
def test_image_browser_grid_view_patch_links_deep_link_and_back(browser, tiny_image_site, how):
    rows = attention_rows(tiny_image_site)
    names = image_names(tiny_image_site)
    sample = min(i for i in rows if i > 0)  # an image of the attention sample (0 is the hostile one)
    outside = min(i for i in range(len(names)) if i not in rows)
    with open_site(browser, tiny_image_site, how) as (page, base):
        page.goto(base + "images.html")
        page.wait_for_selector("#images li")
        assert page.locator("#images li").count() == 16
        expect(page.locator("#count")).to_contain_text("16 of 16 images")
        assert page.locator("#images .thumb-badge").count() == len(rows)
        # the hostile name stays text in the grid
        hostile = page.locator('#images a[data-i="0"]')
        assert hostile.locator(".thumb-name").inner_text() == HOSTILE_IMAGE_NAME
        assert page.locator("#images img, #images script").count() == 0
        # open an image: the large view with its patch grid
        page.locator(f'#images a[data-i="{sample}"]').click()
        page.wait_for_selector(f'#image-large[data-drawn="{sample}"]')
        url_has(page, f"i={sample}")
        assert page.locator("#image-title").inner_text().startswith(names[sample])
        assert not_blank(page.locator("#image-large").screenshot())
        box = page.locator("#image-large").bounding_box()  # after the screenshot, which may scroll
        assert box["width"] >= 3 * 48 - 1  # ~3x or more
        # click patch (row 1, column 1): its details and its attention link (s = row of the sample, t = unit position)
        cell = box["width"] / 6
        page.mouse.click(box["x"] + 1.5 * cell, box["y"] + 1.5 * cell)
        pos = 3 + 1 * 6 + 1
        url_has(page, f"p={pos}")
        detail = page.locator("#patch-detail")
        expect(detail.locator("h3")).to_contain_text("patch 1,1")
        text = detail.inner_text()
        for key in ("Grid cell", "row 1, column 1", "Pixel box", "x 8–16, y 8–16", "Hue", "Saturation", "Brightness", "Frequency"):
            assert key in text
        assert detail.locator(".swatch").count() >= 1
        expect(detail.locator("a.attention-link")).to_have_attribute("href", f"attention-head.html?l=0&h=0&s={rows[sample]}&t={pos}")
        expect(detail.locator("a", has_text="The factor index")).to_have_attribute("href", "factors.html")
        # hovering another patch shows its details for a while; leaving the image shows the selected one again
        page.mouse.move(box["x"] + 4.5 * cell, box["y"] + 2.5 * cell)
        expect(detail.locator("h3")).to_contain_text("patch 2,4")
        assert "(selected)" not in detail.locator("h3").inner_text()
        page.mouse.move(box["x"] - 20, box["y"] - 20)
        expect(detail.locator("h3")).to_contain_text("patch 1,1 (selected)")
        # keyboard: arrow right moves to the next patch
        page.locator("#image-large").focus()
        page.keyboard.press("ArrowRight")
        expect(detail.locator("h3")).to_contain_text("patch 1,2")
        url_has(page, f"p={pos + 1}")
        # back: the click's state, then no patch, then the grid alone
        page.go_back()
        page.wait_for_function(f"!new URLSearchParams(location.search).has('p') && new URLSearchParams(location.search).get('i') === '{sample}'")
        expect(detail).to_contain_text("Point at a patch")
        page.go_back()
        page.wait_for_function("document.getElementById('image-view').hidden")
        # an image outside the attention sample says so
        page.goto(base + f"images.html?i={outside}&p=3")
        page.wait_for_selector(f'#image-large[data-drawn="{outside}"]')
        expect(page.locator("#patch-detail")).to_contain_text("Not in the attention sample")
        # deep link restores image and patch; the hostile image's name is only text
        page.goto(base + "images.html?i=0&p=4")
        page.wait_for_selector('#image-large[data-drawn="0"]')
        assert page.locator("#image-title").inner_text().startswith(HOSTILE_IMAGE_NAME)
        expect(page.locator("#patch-detail h3")).to_contain_text("patch 0,1")
        assert page.locator("#image-view img, #image-view script, #patch-detail img").count() == 0
        # the patch statistics as a mosaic instead of the picture
        page.select_option("#overlay", "frequency")
        url_has(page, "ov=frequency")
        expect(page.locator("#overlay-legend")).to_contain_text("frequency")
        assert page.locator("#overlay-legend .ramp").count() == 10
        # search by name, and links made for text sites (tokens.html?s=&t=) land here
        page.fill("#q", "grating")
        page.press("#q", "Enter")
        page.wait_for_function("document.querySelectorAll('#images li').length === " + str(sum("grating" in n for n in names)))
        page.goto(base + f"tokens.html?s={sample}&t={pos}")
        page.wait_for_url(f"**/images.html?i={sample}&p={pos}")
        expect(page.locator("#patch-detail h3")).to_contain_text("patch 1,1")


@pytest.mark.parametrize("site_name", ["tiny_site", "tiny_image_site"])
def test_overview_fits_a_phone_screen(browser, site_name, request):
    site = request.getfixturevalue(site_name)
    with open_site(browser, site, "file", viewport={"width": 390, "height": 844}) as (page, base):
        pages = ["../../index.html", "index.html"] + (["images.html?i=3&p=10"] if site_name == "tiny_image_site" else ["tokens.html"])
        for name in pages:
            page.goto(base + name)
            page.wait_for_timeout(300)
            width = page.evaluate("document.scrollingElement.scrollWidth")
            assert width <= 390, f"{name} is {width} px wide on a 390 px screen"
