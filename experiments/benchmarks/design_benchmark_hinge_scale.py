"""`bayes-moe benchmark-design` with the guard's windows (strategies.TOP_STRATA, decades down from the largest
compute) set for this process, and the hinges' prior scale (`--hinge-scale`, as the campaign's [model] hinge_scale
would set it), to measure them (issue #17 item 6); the records say what they used (settings' hinge_scale and, for
guarded campaigns, top_strata).

    nice .venv/bin/python experiments/benchmarks/design_benchmark_hinge_scale.py 0.06 [--top-strata 0.5,1.0] \
        --worlds bending ...
"""

from __future__ import annotations

import sys

from bayes_moe.cli import main
from bayes_moe.design import strategies


def _fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    args = sys.argv[1:]
    try:
        scale = float(args.pop(0))
    except (IndexError, ValueError):
        _fail(f"usage: {sys.argv[0]} SCALE [--top-strata D1,D2,...] benchmark-design options")
    if not scale > 0:
        _fail(f"the hinge scale must be > 0, got {scale}")
    if args[:1] == ["--top-strata"]:
        try:
            windows = tuple(float(d) for d in args[1].split(","))
        except (IndexError, ValueError):
            _fail("--top-strata takes decades separated by commas, e.g. 0.5,1.0")
        if not all(d > 0 for d in windows):
            _fail(f"the guard's windows must reach down > 0 decades, got {windows}")
        strategies.TOP_STRATA = windows  # read when each guarded pick finds its windows
        args = args[2:]
    sys.exit(main(["benchmark-design", "--hinge-scale", str(scale), *args]))
