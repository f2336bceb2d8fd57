"""A separate writer process for the ledger's concurrency and crash tests (tests/test_ledger_crash.py).

It prints ``ready`` once the ledger is open and waits for a line on stdin, so that the parent can
start several writers at the same moment; then it prints a line, flushed, after each commit, so that
the parent knows what was committed before it killed the process:

    python helpers_ledger_writer.py churn WORKSPACE WORKER N   # N runs (0: forever) proposed -> running -> done
    python helpers_ledger_writer.py import WORKSPACE CSV [PAUSE_AFTER]

``import`` with PAUSE_AFTER prints ``inserted PAUSE_AFTER`` once that many rows are written inside the
import's transaction, then sleeps there, so that a kill is sure to land mid-transaction.
"""

import itertools
import sys
import time
from pathlib import Path

from bayes_moe.ledger import Ledger


def report(event: str, number: int) -> None:
    """One line in one write: a kill cannot cut it (print writes its parts one by one when unbuffered)."""
    sys.stdout.write(f"{event} {number}\n")
    sys.stdout.flush()


def expected_run(worker: int, index: int) -> dict:
    """What the churn writer records for its ``index``-th run: the parent checks rows against it."""
    return dict(r=1.0 + index, compute=1e18 * (worker + 1), sparsity=0.9538, seed=index,
                label=f"w{worker}-{index}", loss=3.0 + index * 1e-3, executor=f"worker-{worker}")


def churn(ledger: Ledger, worker: int, n_runs: int) -> None:
    for index in itertools.count() if n_runs == 0 else range(n_runs):
        run = expected_run(worker, index)
        run_id = ledger.add_run(run["r"], run["compute"], run["sparsity"], seed=run["seed"], label=run["label"])
        report("added", run_id)
        ledger.start(run_id, run["executor"])
        report("started", run_id)
        ledger.finish(run_id, run["loss"])
        report("done", run_id)
        time.sleep(0.001)  # an executor works between runs; without a pause one writer hogs the lock


def import_pausing(ledger: Ledger, csv_path: str, pause_after: int | None) -> None:
    if pause_after is not None:
        insert, count = Ledger._insert, itertools.count(1)

        def pausing_insert(db, row):
            run_id = insert(db, row)
            if next(count) == pause_after:
                report("inserted", pause_after)
                time.sleep(60)
            return run_id

        Ledger._insert = staticmethod(pausing_insert)
    report("imported", len(ledger.import_csv(csv_path)))


def main(mode: str, workspace: str, *rest: str) -> None:
    with Ledger.open(Path(workspace)) as ledger:
        print("ready", flush=True)
        sys.stdin.readline()
        if mode == "churn":
            churn(ledger, int(rest[0]), int(rest[1]))
        else:
            import_pausing(ledger, rest[0], int(rest[1]) if len(rest) > 1 else None)


if __name__ == "__main__":
    main(*sys.argv[1:])
