"""``python -m bayes_moe.cli``: the trainer pool starts its runs this way."""

import sys

from bayes_moe.cli import main

sys.exit(main())
