#!/usr/bin/env bash
# The whole ScaleBench benchmark (docs/scalebench.md): every task, SEEDS seeds (default 3; the paper's repeats: 10), its three budgets, all law forms
# and strategies, one process, task after task (cheapest first), under nice. Per task: the campaign log
# (results/full/TASK.jsonl, appended as campaigns end), the summary (TASK.json) and the task's wall and CPU
# seconds (times.txt). Usage, from the repository root: experiments/scalebench/run_benchmark.sh [TASK ...];
# OUT (a folder, default results/full), SEEDS, WORKERS (processes, default 1), STRATEGIES (default: all three) and ARGS (further options of the command,
# e.g. --boxes centred) may be set in the environment.
set -euo pipefail
out=${OUT:-experiments/scalebench/results/full}
read -ra strategies <<< "${STRATEGIES:-active random cost_random}"
read -ra options <<< "${ARGS:-}"
mkdir -p "$out"
tasks=("$@")
[ ${#tasks[@]} -gt 0 ] || tasks=(sparsity parallel moe lr_bsz vocab domain_mixture)
for task in "${tasks[@]}"; do
    start=$(date +%s)
    /usr/bin/time -f "%U %S" -o "$out/$task.cpu" nice -n 10 .venv/bin/bayes-moe benchmark-scalebench \
        --task "$task" --seeds "${SEEDS:-3}" --workers "${WORKERS:-1}" --strategies "${strategies[@]}" ${options[@]+"${options[@]}"} --log "$out/$task.jsonl" --json > "$out/$task.json"
    read -r user system < "$out/$task.cpu" && rm "$out/$task.cpu"
    echo "$task wall_s $(( $(date +%s) - start )) cpu_s $(echo "$user + $system" | bc) $(date -u +%FT%TZ)" >> "$out/times.txt"
done
