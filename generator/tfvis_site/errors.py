"""The one exception type that reaches the user as a one-line message and exit code 2."""


class UserError(Exception):
    """Bad input from the user (file, option, model folder). The message names the culprit."""

    exit_code = 2
