#!/bin/bash
# Run one of the ScaleBench authors' methods (mspe.py, their MSPE, or vopt.py, V-optimal) from a copy of
# ../shared/peers/active-sl (not part of this project) as independent (dataset, form, seed) jobs, one core each,
# PARALLEL at a time: what one 10-minute call of a lent 16-core machine can hold. The copy's script must read
# N_STARTS, RNG_SEED, N_WORKERS and SLS (the forms to run) from the environment (results/peer/mspe_10_repeats/
# README.md gives the four one-line edits). Each job's log is OUTDIR/METHOD_DATASET_FORM_seedSEED.log and its line
# in OUTDIR/done.txt; peer_logs.py summarises them.
#
# usage: run_peer.sh PEER_COPY METHOD OUTDIR PARALLEL WALL_S N_STARTS DATASET:FORM:SEED [...]   (METHOD: mspe or vopt)
set -u
peer=$(cd "$1" && pwd); method=$2; out=$(mkdir -p "$3" && cd "$3" && pwd); par=$4; wall=$5; starts=$6; shift 6
[[ $method == mspe || $method == vopt ]] || { echo "run_peer.sh: METHOD must be mspe or vopt, not '$method'" >&2; exit 2; }
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 peer method out wall starts
run_one() {
  IFS=: read -r ds sl seed <<< "$1"
  cd "$(mktemp -d)" || exit 1  # the peer writes output/ under its working folder
  local start=$SECONDS
  N_STARTS=$starts RNG_SEED=$seed N_WORKERS=1 SLS=$sl timeout "$wall" python3 "$peer/$method.py" "$ds" 1 \
    > "$out/${method}_${ds}_${sl}_seed$seed.log" 2>&1
  echo "$method $ds $sl $seed rc=$? wall=$((SECONDS - start))" >> "$out/done.txt"
}
export -f run_one
printf '%s\n' "$@" | xargs -P "$par" -I{} bash -c 'run_one {}'
