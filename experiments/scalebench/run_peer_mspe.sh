#!/bin/bash
# Run the ScaleBench authors' mspe.py (a copy of ../shared/peers/active-sl, not part of this project) as
# independent (dataset, form, seed) jobs, one core each, PARALLEL at a time: what one 10-minute call of a lent
# 16-core machine can hold. The copy must read N_STARTS, RNG_SEED, N_WORKERS and SLS (the forms to run) from the
# environment (results/peer/mspe_10_repeats/README.md gives the four one-line edits). Each job's log is
# OUTDIR/DATASET_FORM_seedSEED.log and its line in OUTDIR/done.txt; peer_mspe_logs.py summarises them.
#
# usage: run_peer_mspe.sh PEER_COPY OUTDIR PARALLEL WALL_S N_STARTS DATASET:FORM:SEED [...]
set -u
peer=$(cd "$1" && pwd); out=$(mkdir -p "$2" && cd "$2" && pwd); par=$3; wall=$4; starts=$5; shift 5
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 peer out wall starts
run_one() {
  IFS=: read -r ds sl seed <<< "$1"
  cd "$(mktemp -d)" || exit 1  # the peer writes output/ under its working folder
  local start=$SECONDS
  N_STARTS=$starts RNG_SEED=$seed N_WORKERS=1 SLS=$sl timeout "$wall" python3 "$peer/mspe.py" "$ds" 1 \
    > "$out/${ds}_${sl}_seed$seed.log" 2>&1
  echo "$ds $sl $seed rc=$? wall=$((SECONDS - start))" >> "$out/done.txt"
}
export -f run_one
printf '%s\n' "$@" | xargs -P "$par" -I{} bash -c 'run_one {}'
