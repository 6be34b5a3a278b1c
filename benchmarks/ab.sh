#!/usr/bin/env bash
# Times one family in two checkouts, interleaved in one run (a fresh process each):
#   benchmarks/ab.sh BEFORE_TREE AFTER_TREE [FAMILY] [ROUNDS]
# e.g. git worktree add /tmp/before HEAD~3 && benchmarks/ab.sh /tmp/before . aae 3
# Prints one JSON row per measurement, prefixed by its tree. Run it on an idle machine.
set -euo pipefail
before=$(cd "$1" && pwd); after=$(cd "$2" && pwd); family=${3:-aae}; rounds=${4:-3}
export TF_CPP_MIN_LOG_LEVEL=3
for _ in $(seq "$rounds"); do
  for tree in "$before" "$after"; do
    row=$(cd "$tree" && PYTHONPATH="$tree" python benchmarks/run.py --one "$family" default \
      --steps 200 --repeats 3 | tail -1)
    echo "$tree $row"
  done
done
