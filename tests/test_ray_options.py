"""The executor options without Ray: checked before any work, one line and exit 2 each, and
``--executor ray`` on a machine without Ray names the command that installs it."""

import subprocess
import sys
from pathlib import Path

import pytest
from tiny import TRAIN_TEXT

from tfvis_site.cli import main
from tfvis_site.run.config import resolve
from tfvis_site.errors import UserError


def build_args(tmp_path: Path, model: Path, *extra: str) -> list[str]:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(TRAIN_TEXT) + "\n")
    return ["build", "--quiet", "--preset", "quick", "--model", str(model), "--corpus", str(corpus), "--out", str(tmp_path / "site"), "--cache-dir", str(tmp_path / "cache"), *extra]


def test_executor_without_ray_installed_is_one_line_before_any_work(tiny_checkpoints, tmp_path):
    """Ray is hidden from the import system (sys.modules["ray"] = None), as on a default install."""
    args = build_args(tmp_path, tiny_checkpoints["bert"], "--executor", "ray", "--workers", "2")
    code = f"import sys; sys.modules['ray'] = None\nfrom tfvis_site.cli import main\nsys.exit(main({args!r}))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install -e '.[ray]'" in lines[0] and "--executor ray" in lines[0], run.stderr
    assert not (tmp_path / "site").exists() and not (tmp_path / "cache" / "extract").exists()  # no work done


@pytest.mark.parametrize("args, message", [
    (["--executor", "spark"], "invalid choice: 'spark'"),
    (["--workers", "-1"], "'workers' is out of range"),
    (["--ray-address", "127.0.0.1:6379"], "--ray-address is an option of --executor ray"),
])
def test_bad_executor_options_are_one_line(tiny_checkpoints, tmp_path, capsys, args, message):
    try:
        code = main(build_args(tmp_path, tiny_checkpoints["bert"], *args))
    except SystemExit as e:  # argparse's own errors (an unknown choice) exit from the parser
        code = e.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "site").exists()


def test_executor_options_in_toml_are_checked_and_stay_out_of_the_site(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('executor = "ray"\nray_address = "auto"\nworkers = 3\n')
    config = resolve(good, {})
    assert (config.executor, config.ray_address, config.workers) == ("ray", "auto", 3)
    bad = tmp_path / "bad.toml"
    bad.write_text('executor = "dask"\n')
    with pytest.raises(UserError, match=r"bad.toml: option 'executor' must be one of local, ray"):
        resolve(bad, {})
    bad.write_text("workers = \"two\"\n")
    with pytest.raises(UserError, match="'workers' must be an integer"):
        resolve(bad, {})
    from tfvis_site.site.model_data import public_config as _public_config

    public = _public_config(config)
    assert not {"executor", "ray_address", "workers"} & set(public)  # where a site was built is no part of it
