#!/bin/bash
# Where a small campaign run's time goes outside its training steps (#14: h100_wide_r's GPUs trained 60% of the
# campaign's wall). Copies h100_wide_r's workspace, queues runs like its runs at 3e15 FLOPs (E = 65 and E = 9),
# and trains each in its own `bayes-moe run` process as the GPU pool does: the process's wall against the run's
# own setup_s and wall_s, and the first run under cProfile (cumulative top 40). The shipped sample corpus.
# From the repository root, torch with CUDA:   bash experiments/gpu_node/run_overhead.sh
set -u
: "${OUT:?set OUT to the folder for the results}"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=4
w=/tmp/run_overhead
rm -rf "$w" && cp -r experiments/h100_wide_r/workspace "$w" && rm -rf "$w"/checkpoints/*
queue() { python3 -m bayes_moe.cli --workspace "$w" add --r "$1" --compute "$2" --sparsity "$3" --seed 0 --force --json \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'; }
for spec in "3 3e15 0.9538461538461539" "3 3e15 0.9538461538461539" "3 3e15 0.6666666666666666" "16 3e14 0.9538461538461539"; do
  id=$(queue $spec)
  profile=()
  [ -f "$OUT/run.prof" ] || profile=(-m cProfile -o "$OUT/run.prof")
  start=$(date +%s.%N)
  python3 "${profile[@]}" -m bayes_moe.cli --workspace "$w" run "$id" --executor trainer --device cuda \
    --config experiments/h100_wide_r/train.toml > "$OUT/run_$id.log" 2>&1
  end=$(date +%s.%N)
  python3 - "$w" "$id" "$start" "$end" "${#profile[@]}" <<'PY' | tee -a "$OUT/overhead.txt"
import json, sys
from bayes_moe.ledger import Ledger
w, run_id, start, end, profiled = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5] != "0"
with Ledger.open(w) as ledger:
    run = ledger.get(run_id)
m = run.metrics or {}
print(json.dumps({"id": run_id, "status": run.status, "r": run.r, "compute": run.compute, "sparsity": run.sparsity,
                  "process_wall_s": round(end - start, 2), "setup_s": round(m.get("setup_s", float("nan")), 2),
                  "train_wall_s": round(m.get("wall_s", float("nan")), 2), "steps": m.get("steps"),
                  "n_params": m.get("n_params"), "profiled": profiled}))
PY
done
python3 -c "import pstats; pstats.Stats('$OUT/run.prof').sort_stats('cumulative').print_stats(40)" > "$OUT/profile.txt" 2>&1
python3 -c "import pstats; pstats.Stats('$OUT/run.prof').sort_stats('tottime').print_stats(25)" >> "$OUT/profile.txt" 2>&1
