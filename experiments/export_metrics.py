"""Write a measured campaign's run_metrics.csv: each done run's trainer metrics and shape, from the ledger of
its ``workspace`` folder (``bayes-moe export`` writes the runs themselves, this their trainer's figures).

    .venv/bin/python experiments/export_metrics.py experiments/h100_ladder
"""

import csv
import sys
from pathlib import Path

from bayes_moe.ledger import Ledger

COLUMNS = ("id r compute sparsity val_loss tokens tokens_per_s wall_s mfu train_loss routing_max_load "
           "routing_max_load_worst_layer routing_cv aux_balance aux_z n_params steps warmup_steps epochs "
           "tokens_per_param micro_batch_size compile corpus_sha256 device lr batch_size n_layers n_heads d_model").split()


def row(run) -> list:
    metrics, arch = run.metrics, run.arch
    values = {**metrics["config"], **metrics, "id": run.id, "r": run.r, "compute": run.compute,
              "sparsity": run.sparsity, **{k: arch[k] for k in ("n_layers", "n_heads", "d_model")}}
    return [values[c] for c in COLUMNS]


def main(campaign: Path) -> None:
    with Ledger.open(campaign / "workspace") as ledger:
        runs = ledger.runs("done")
    with open(campaign / "run_metrics.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows(row(run) for run in sorted(runs, key=lambda run: run.id))
    print(f"{len(runs)} runs -> {campaign / 'run_metrics.csv'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
