"""The ``rdsplan`` command line.

Each sub-command lives in its own module and registers itself through an
``add_parser(subparsers)`` function that sets ``func`` on its parser. Heavy
libraries (PyMC above all) are imported inside the commands that need them,
so ``rdsplan --help`` and the data commands start quickly.

User errors (bad files, bad options, invalid data) print one line starting with
``rdsplan: error:`` and exit with status 1; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from planning.app.cli import data_commands, demo, evaluate, fit, plan, report, rounds, simulate
from planning.app.cli.common import CommandError
from planning.errors import PlanningError

__all__ = ["build_parser", "main"]

#: Operating-system errors a user can fix (a path that is missing, a folder, not allowed).
_FILE_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions shown as one line: the toolkit's own error hierarchies and file errors."""
    from planning.robust import SolverUnavailableError
    from rdsmodel.errors import RdsplanError

    return (CommandError, PlanningError, RdsplanError, SolverUnavailableError, *_FILE_ERRORS)


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line (``rdsplan: error: ...``, exit status 2), no usage dump."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every sub-command."""
    parser = _Parser(
        prog="rdsplan",
        description=(
            "Bayesian models and coupon-allocation planning for respondent-driven sampling. "
            "Run 'rdsplan demo' for the whole path on a built-in study."
        ),
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    for module in (simulate, data_commands, fit, plan, report, rounds, demo, evaluate):
        module.add_parser(sub)
    return parser


def _one_line_warnings(message, category, filename, lineno, file=None, line=None) -> None:
    text = str(message).strip().splitlines()[0] if str(message).strip() else category.__name__
    print(f"rdsplan: warning: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.debug:
        warnings.showwarning = _one_line_warnings
        # Library chatter (ArviZ refactor notices, PyTensor deprecations) is not the user's problem.
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        status = args.func(args)
    except KeyboardInterrupt as err:
        detail = f" ({err})" if str(err) else ""
        print(f"rdsplan: interrupted{detail}", file=sys.stderr)
        return 130
    except Exception as err:
        if args.debug:
            raise
        if isinstance(err, _user_errors()):
            message = str(err).strip() or type(err).__name__
            for i, line in enumerate(message.splitlines()):
                prefix = "rdsplan: error: " if i == 0 else "  "
                print(prefix + line, file=sys.stderr)
            return 1
        print(
            f"rdsplan: internal error in '{args.command}': {type(err).__name__}: {err}\n"
            "  this is a bug in rdsplan, not in your input; rerun with --debug for the traceback "
            "and report it",
            file=sys.stderr,
        )
        return 3
    return int(status or 0)
