"""domain_mixture's active campaigns of one law form (default sl_6, index 5) with several numbers of random starts for
the fits scored at each budget (``Settings.final_starts``): one JSON line a campaign, ``[law index, seed, final
starts, R^2 at each budget, CPU s]``. Usage: python probe_sl6.py FIRST_SEED END_SEED STARTS,... [LAW_INDEX]"""
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from bayes_moe.benchmarks import scalebench
from bayes_moe.pooltask import find_task, load_task


def campaign(args):
    law_index, seed, final_starts = args
    task = load_task(find_task("domain_mixture"))
    start = time.process_time()
    results = scalebench.run_campaign(task, law_index, "active", seed, scalebench.Settings(final_starts=final_starts))
    return law_index, seed, final_starts, [round(r["r2"], 3) for r in results], round(time.process_time() - start, 1)


if __name__ == "__main__":
    seeds = range(int(sys.argv[1]), int(sys.argv[2]))
    starts = [int(x) for x in sys.argv[3].split(",")]
    law = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    with ProcessPoolExecutor(2) as pool:
        for line in pool.map(campaign, [(law, seed, n) for n in starts for seed in seeds]):
            print(json.dumps(line), flush=True)
