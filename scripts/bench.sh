#!/usr/bin/env bash
# Runs the sdk-vs-raw benchmarks and compares each SDK side with its raw
# floor, using benchstat (pinned).
#
#   scripts/bench.sh [rounds]        # default 8 rounds
#
# The test binary is built once and run once per round with -test.count 1,
# so that every benchmark's raw and sdk sides run next to each other in
# each round (with -count N in one process Go runs each sub-benchmark N
# times in a row, and a load change on a shared machine in between skews
# the comparison). BENCHTIME (default 1s) sets -test.benchtime; OUT
# (default a temporary directory) keeps the raw output.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-8}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
benchstat="go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da"

echo "# $(date -u '+%Y-%m-%d %H:%M UTC')  $(go version)  commit $(git rev-parse --short HEAD)"
echo "# CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
go test -c -o "$out/justap.test" .
: >"$out/bench.txt"
for _ in $(seq 1 "$rounds"); do
	"$out/justap.test" -test.run '^$' -test.benchmem -test.count 1 -test.benchtime "${BENCHTIME:-1s}" \
		-test.bench '^Benchmark(ChargeCreate|ChargeGet|ChargeListAll|DecodeChargeList)$' >>"$out/bench.txt"
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# raw output: $out/bench.txt"
$benchstat -col /impl "$out/bench.txt"
