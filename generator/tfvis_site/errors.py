"""What reaches the user when something goes wrong: always one line, never a traceback.

A UserError (bad input) prints its message and exits 2. Any other exception is a bug: the user
sees one line with the path of a log file that holds the traceback (``log_internal_error``).
"""

from __future__ import annotations

import datetime
import os
import platform
import tempfile
import traceback
from pathlib import Path


class UserError(Exception):
    """Bad input from the user (file, option, model folder). The message names the culprit."""

    exit_code = 2


def first_line(e: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (its type name when the message is empty)."""
    text = str(e).strip().splitlines()
    return text[0][:limit] if text else type(e).__name__


#: Options whose value is a secret: a log shows "***" in its place.
SECRET_OPTIONS = ("--explainer-key",)


def redacted(argv: list[str]) -> list[str]:
    """The command line with the values of SECRET_OPTIONS ("--explainer-key K", "--explainer-key=K") hidden."""
    def secret(arg: str) -> bool:  # argparse takes an unambiguous prefix too: --explainer-k
        name = arg.split("=", 1)[0]
        return any(o.startswith(name) and len(name) > o.rfind("-") for o in SECRET_OPTIONS)

    out = []
    for i, arg in enumerate(argv):
        if i and secret(argv[i - 1]) and "=" not in argv[i - 1]:
            out.append("***")
        else:
            out.append(arg.split("=", 1)[0] + "=***" if "=" in arg and secret(arg) else arg)
    return out


def log_internal_error(e: BaseException, argv: list[str]) -> Path | None:
    """Write the traceback of ``e``, the command line and versions to a new file under
    ``$TMPDIR/tfvis-site/``; returns its path, or None when nothing can be written there."""
    from .version import __version__

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        folder = Path(tempfile.gettempdir()) / "tfvis-site"
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f"error-{stamp}-", suffix=".log", dir=folder)
        os.close(handle)
        path = Path(name)
        header = [
            f"tfvis-site {__version__} internal error, {stamp}",
            f"command: tfvis-site {' '.join(redacted(argv))}",
            f"python {platform.python_version()} on {platform.platform()}",
            "",
        ]
        path.write_text("\n".join(header) + "".join(traceback.format_exception(e)))
    except OSError:
        return None
    return path


def internal_error_message(e: BaseException, argv: list[str]) -> str:
    """The one line a user sees for a bug (the traceback goes to a log file)."""
    log = log_internal_error(e, argv)
    details = f"details: {log}" if log else "no log could be written to the temporary folder"
    return f"tfvis-site: internal error: {type(e).__name__}: {first_line(e)} ({details})"
