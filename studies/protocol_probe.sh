#!/usr/bin/env bash
# Which network sizes and generator loss reproduce the published collapse of the vanilla GAN on
# ring8 under the VEEGAN protocol? Runs each configuration for 3 seeds in parallel, one thread each,
# then prints one table per configuration. Usage: bash studies/protocol_probe.sh OUT [ITERS]
set -u
out=${1:-/tmp/protocol-probe}
iters=${2:-25000}
py=${PYTHON:-python3}
export OMP_NUM_THREADS=1 PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$(pwd)
configs=(
  "d2-ns|ring8|--d-layers 2"
  "d1-ns|ring8|--d-layers 1"
  "d1-mm|ring8|--d-layers 1 --set loss=minimax"
  "d2-mm|ring8|--d-layers 2 --set loss=minimax"
  "d1-ns|grid25|--d-layers 1"
)
for c in "${configs[@]}"; do
  IFS='|' read -r tag ds flags <<<"$c"
  for seed in 0 1 2; do
    $py -m benchmark run --dataset "$ds" --variant gan --seed "$seed" --iters "$iters" --device cpu \
      --tag "$tag" --out "$out" $flags >"$out.$tag.$ds.$seed.log" 2>&1 &
  done
done
wait
$py -m benchmark table "$out" --format md
