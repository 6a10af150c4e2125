#!/usr/bin/env bash
# The fuzzing campaign (issue 10): INPUTS inputs of seed SEED (default 1,000,000 of seed 1) in chunks of 50,000, one
# chunk per core at a time. A chunk that traps, hangs (an input over 10 s) or passes 2 GB saves the input to
# fuzz-findings/ and goes on from the next one. Prints the totals; findings stay in fuzz-findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
INPUTS=${1:-1000000}
SEED=${2:-1}
CHUNK=${CHUNK:-50000}
OUT=fuzz-findings
swift build -c release --product hybridsim-fuzz >/dev/null
mkdir -p "$OUT"
# The campaign runs a copy: a rebuild during it does not change the binary under it.
cp .build/release/hybridsim-fuzz "$OUT/hybridsim-fuzz"
log="$OUT/seed-$SEED.log"
: > "$log"
run_chunk() {
  local start=$1 end=$2
  while (( start < end )); do
    set +e
    "$OUT/hybridsim-fuzz" --seed "$SEED" --start "$start" --inputs $((end - start)) --out "$OUT" 2>>"$log"
    status=$?
    set -e
    if (( status == 70 || status == 71 || status == 72 )); then
      # The input that failed is the newest failure file of this seed; go on after it.
      failed=$(ls -t "$OUT"/failure-"$SEED"-*.txt | head -1)
      index=${failed##*-}; index=${index%.txt}
      echo "fuzz seed $SEED input $index: exit $status (see $failed)" >>"$log"
      start=$((index + 1))
    else
      break
    fi
  done
}
jobs=${JOBS:-$(nproc)}
start=0
while (( start < INPUTS )); do
  for ((j = 0; j < jobs && start < INPUTS; j++)); do
    end=$((start + CHUNK < INPUTS ? start + CHUNK : INPUTS))
    run_chunk "$start" "$end" &
    start=$end
  done
  wait
done
awk '/^fuzz seed .* inputs/ { a += $6; r += $8; f += $10; if ($(NF-1)+0 > peak) peak = $(NF-1)+0 }
     /exit 7[012]/ { crashes++ }
     END { printf "fuzz: %d inputs (seed '"$SEED"'): %d accepted, %d refused, %d broken promises, %d traps/hangs/over-2GB; largest peak resident %s MB\n", a + r, a, r, f, crashes, peak }' "$log"
ls "$OUT"/failure-"$SEED"-*.txt 2>/dev/null | head -20 || true
