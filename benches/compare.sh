#!/usr/bin/env bash
# Measures idflow's scim-model and its Node peers on the same inputs in one run, and prints
# the side-by-side table that BENCHMARKS.md records.
#
#   benches/compare.sh            # the real measurement (about 4 minutes; run on a quiet machine)
#   benches/compare.sh --quick    # a smoke run: proves everything works, figures are noise
#
# Steps: npm ci in benches/peers if node_modules is missing; cargo bench (criterion writes
# <target>/criterion/<group>/<function>/<case>/new/estimates.json); node benches/peers/bench.js
# (JSON on stdout); then benches/scripts/table.py joins both into markdown tables.
# The table is printed and also written to <target>/idflow-bench/scim-model.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
  esac
done

if [ ! -d "$here/peers/node_modules" ]; then
  (cd "$here/peers" && npm ci --no-audit --no-fund)
fi

target_dir="$(cargo metadata --no-deps --format-version 1 \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
out_dir="$target_dir/idflow-bench"
mkdir -p "$out_dir"

# Estimates older than this run are stale and are not reported.
start="$(date +%s)"

criterion_args=()
node_args=()
if [ "$quick" = 1 ]; then
  criterion_args=(--warm-up-time 0.2 --measurement-time 0.5 --sample-size 10)
  node_args=(--quick)
fi

cargo bench -p idflow-benches --bench scim_model -- "${criterion_args[@]}"
node "$here/peers/bench.js" "${node_args[@]}" > "$out_dir/peers.json"

command="benches/compare.sh $*"
python3 "$here/scripts/table.py" \
  --criterion "$target_dir/criterion" \
  --peers "$out_dir/peers.json" \
  --since "$start" \
  --command "${command% }" \
  $([ "$quick" = 1 ] && echo --quick) \
  | tee "$out_dir/scim-model.md"
