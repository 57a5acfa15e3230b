import json
import subprocess
import sys

from sites import model_folder

from tfvis_site.cache import StageCache
from tfvis_site.analysis.factors import FactorResult
from tfvis_site.probe import read_site_record
from tfvis_site.site.bundles import read_data_table


def _probe(site, *args):
    cmd = [sys.executable, "-m", "tfvis_site", "probe", str(site), "--cache-dir", str(site.parent / "cache"), *args]
    return subprocess.run(cmd, capture_output=True, text=True)


def test_probe_reproduces_the_top_context_activation(tiny_site):
    record = read_site_record(StageCache(tiny_site.parent / "cache"), tiny_site)
    factors = FactorResult.load(record["factors"])
    sentences = read_data_table(model_folder(tiny_site) / "data", "sentences.parquet").to_pydict()
    offsets = sentences["token_offset"]
    # the strongest context of the factor with the largest activation anywhere
    c = int(factors.max_act.max(1).argmax())
    layer = int(factors.peak_layer[c])
    row = int(factors.topk_token[layer, c, 0])
    s = max(i for i, off in enumerate(offsets) if off <= row)
    proc = _probe(tiny_site, "--factor", str(c), "--json", sentences["text"][s])
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert len(result["tokens"]) == sentences["n_tokens"][s]
    got = result["activations"][row - offsets[s]][layer]
    assert abs(got - float(factors.topk_values[layer, c, 0])) < 1e-3 * max(1.0, got)


def test_probe_top_and_errors(tiny_site):
    proc = _probe(tiny_site, "--top", "2", "--layer", "1", "--json", "The cat sat.")
    assert proc.returncode == 0, proc.stderr
    top = json.loads(proc.stdout)["top"]
    assert all(len(t["1"]) <= 2 for t in top)
    assert any(t["1"] for t in top)
    bad = _probe(tiny_site, "--factor", "999999", "x")
    assert bad.returncode == 2 and "--factor 999999" in bad.stderr and "Traceback" not in bad.stderr
    missing = subprocess.run([sys.executable, "-m", "tfvis_site", "probe", str(tiny_site), "--top", "1", "x", "--cache-dir", str(tiny_site.parent / "elsewhere")], capture_output=True, text=True)
    assert missing.returncode == 2 and "no build record" in missing.stderr
