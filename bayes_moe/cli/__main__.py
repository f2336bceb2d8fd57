"""``python -m bayes_moe.cli``: the executors and experiments/run_proposed.sh start runs this way."""

import sys

from bayes_moe.cli import main

sys.exit(main())
