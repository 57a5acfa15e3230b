"""The overview and the quality page state the objective of the factor method that was used
(issue 12, item 5): the TopK SAE's for a default build, the FISTA lasso's for method fista-dl."""

import html
import re

from sites import model_folder, read_manifest

from tfvis_site.site.render import environment


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_pages_show_the_objective_of_the_method_used(tiny_site):
    factors = read_manifest(tiny_site)["factors"]
    assert factors["method"] == "topk-sae"  # the default
    assert "TopK_k" in factors["formulas"]["objective"] and "alpha" not in factors["formulas"]["objective"]  # the data says so too
    k = factors["config"]["sae_k"]
    for name in ("index.html", "quality.html"):
        page = text_of((model_folder(tiny_site) / name).read_text())
        assert f"a = TopK_k(ReLU((z - b_dec) W_enc + b_enc)), k = {k}" in page and "z_hat = a D + b_dec" in page, name
        assert "alpha * sum(a)" not in page and "FISTA" not in page, name
    # the same section for a dictionary learned by FISTA: the lasso, with its alpha
    fista = {**factors, "method": "fista-dl", "config": {**factors["config"], "method": "fista-dl", "alpha": 0.25}}
    page = text_of(environment().get_template("_factor_quality.html").render(factors=fista))
    assert "min over D, a ≥ 0 of sum over the training tokens of 1/2 ||z - a D||^2 + alpha * sum(a), alpha = 0.25" in page
    assert "FISTA" in page and "TopK" not in page
