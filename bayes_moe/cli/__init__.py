"""``bayes-moe``: the one entry point (docs/cli.md). Makefile targets call it.

Each command has its module, named after it (``bayes-moe loss-law`` in ``loss_law.py``; ``import_.py``, as
``import`` is a Python keyword; the ScaleBench pair ``pool-next`` and ``benchmark-scalebench`` in ``scalebench.py``),
which holds it as a ``_cmd_*`` function and adds it to the parser through its ``register(command)``; ``command``
adds a subcommand with the common flags. ``flags.py`` holds the flags several commands share, ``output.py`` how they
find the workspace and print. The work lives in the
library modules, and the heavy ones (PyMC, BoTorch, torch) are imported inside the commands that need them, so
``--help`` and the light commands stay fast. Bad input (a flag, a file that is damaged, missing or not writable)
raises ``InputError``, which ``main`` prints as one line and turns into exit code 2; a fault of the machine (a full
disk, an I/O error) is ``MachineFault`` or an ``OSError`` saying so: one line, exit code 1. Any other exception is
a bug and keeps its traceback (docs/cli.md, Exit codes).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys

from bayes_moe.cli.output import WORKSPACE_ENV
from bayes_moe.errors import InputError, MachineFault

_MACHINE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EIO)  # never a bug of ours, wherever they arise
_ACCESS_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)
# in the order `bayes-moe --help` lists their commands
COMMAND_MODULES = ("arch", "loss_law", "run", "init", "import_", "export", "status", "add", "check", "next", "fit",
                   "r_star", "compare", "validate", "campaign", "benchmark_design", "scalebench")


class _OneLineErrors(argparse.ArgumentParser):
    """Argument errors as one line naming the flag and value, exit code 2 (not argparse's usage dump)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workspace", default=argparse.SUPPRESS,
                        help=f"workspace folder (default ${WORKSPACE_ENV} or ./workspace)")
    reporting = argparse.ArgumentParser(add_help=False)
    reporting.add_argument("--json", action="store_true", help="print JSON instead of text")

    parser = _OneLineErrors(prog="bayes-moe", parents=[common], description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler, help: str, reports: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, parents=[common] + ([reporting] if reports else []))
        p.set_defaults(handler=handler)
        return p

    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.handler(args) or 0  # a handler may return its exit status (run: 1 for a failed run)
    except InputError as error:
        print(f"bayes-moe {args.command}: error: {error}", file=sys.stderr)
        return 2
    except MachineFault as error:
        print(f"bayes-moe {args.command}: error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`bayes-moe status | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        if error.errno in _ACCESS_ERRNOS:  # the user's permissions, named with the file: not a bug to hide
            print(f"bayes-moe {args.command}: error: {where}{error.strerror}", file=sys.stderr)
            return 2
        if error.errno not in _MACHINE_ERRNOS:
            raise
        print(f"bayes-moe {args.command}: error: {where}{error.strerror} (a fault of the machine: free space "
              f"or mend the disk, then run the command again)", file=sys.stderr)
        return 1
    return 0
