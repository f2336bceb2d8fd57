"""`bayes-moe benchmark-design` with the hinges' prior scale (surfaces.HINGE_SCALE, tau ~ HalfNormal(scale))
set for this process, to measure a scale before making it the default (issue #17 item 6); the records say the
scale they used (settings' hinge_scale).

    nice .venv/bin/python experiments/benchmarks/design_benchmark_hinge_scale.py 0.06 --worlds bending ...
"""

from __future__ import annotations

import sys

from bayes_moe import surfaces
from bayes_moe.cli import main

if __name__ == "__main__":
    try:
        scale = float(sys.argv[1])
    except (IndexError, ValueError):
        sys.exit(print(f"usage: {sys.argv[0]} SCALE benchmark-design options", file=sys.stderr) or 2)
    if not scale > 0:
        sys.exit(print(f"the hinge scale must be > 0, got {scale}", file=sys.stderr) or 2)
    surfaces.HINGE_SCALE = scale  # read when each fit declares its priors
    sys.exit(main(["benchmark-design", *sys.argv[2:]]))
