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


def test_site_tables_are_read_without_arrow_threads(tiny_site):
    """`tfvis-site probe` aborted at exit about one run in ten on a busy machine: a threaded
    Parquet scan left a buffer of the file's bytes (a Python object) to an Arrow thread, which
    could not take the GIL from the finalizing interpreter (apache/arrow#34314). Site tables
    are read on the calling thread, so no Arrow thread ever starts."""
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from tfvis_site.site.bundles import read_data_table\n"
        "before = len(os.listdir('/proc/self/task'))\n"
        "table = read_data_table(Path(sys.argv[1]), 'sentences.parquet')\n"
        "print(before, len(os.listdir('/proc/self/task')), table.num_rows)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(model_folder(tiny_site) / "data")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    before, after, rows = map(int, proc.stdout.split())
    assert rows > 0 and after == before
