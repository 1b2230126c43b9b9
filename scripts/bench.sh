#!/usr/bin/env bash
# Runs the sdk-vs-raw benchmarks and prints the medians and the sdk/raw
# ratios against the performance budget (see BENCHMARKS.md).
#
#   scripts/bench.sh [rounds]        # default 7 rounds (at least 5)
#
# The test binary is built once and run once per round with -test.count=1,
# so that every benchmark's sdk and raw sides run next to each other in
# each round: with -count=N in one process Go runs sdk N times and then raw
# N times, and a load change on a shared machine in between skews the
# ratio. Medians are taken over the rounds.
#
# Environment: BENCHTIME (default 1s) for the sdk/raw benchmarks,
# CONC_BENCHTIME (default 5x) for BenchmarkConcurrentCalls, OUT (default a
# temporary directory) where the raw output is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-7}
benchtime=${BENCHTIME:-1s}
conc_benchtime=${CONC_BENCHTIME:-5x}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"

echo "# $(date -u '+%Y-%m-%d %H:%M UTC')  $(go version)"
echo "# CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# rounds: $rounds, benchtime: $benchtime (concurrency: $conc_benchtime), raw output: $out"

go test -c -o "$out/justap.test" . >/dev/null
: >"$out/bench.txt"
for r in $(seq 1 "$rounds"); do
	"$out/justap.test" -test.run '^$' -test.benchmem -test.count 1 -test.benchtime "$benchtime" \
		-test.bench '^Benchmark(ChargeCreate|ChargeGet|ChargeListAll|DecodeChargeList)$' >>"$out/bench.txt"
	"$out/justap.test" -test.run '^$' -test.benchmem -test.count 1 -test.benchtime "$conc_benchtime" \
		-test.bench '^BenchmarkConcurrentCalls$' >>"$out/bench.txt"
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# One "name unit value" line per measurement, then the median of each.
awk '/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	for (i = 3; i < NF; i += 2) print name, $(i + 1), $i
}' "$out/bench.txt" | sort -k1,1 -k2,2 -k3,3g | awk '
{ key = $1 " " $2; n[key]++; v[key, n[key]] = $3; if (!(key in seen)) { seen[key] = 1; keys[++nk] = key } }
END {
	for (k = 1; k <= nk; k++) {
		key = keys[k]; c = n[key]
		m = (c % 2) ? v[key, (c + 1) / 2] : (v[key, c / 2] + v[key, c / 2 + 1]) / 2
		print key, m, c
	}
}' >"$out/medians.txt"

echo
echo "## Medians"
echo
echo "| benchmark | ns/op | B/op | allocs/op | other | samples |"
echo "|---|---:|---:|---:|---|---:|"
awk '
{ name = $1; unit = $2; val[name, unit] = $3; cnt[name] = $4; if (!(name in seen)) { seen[name] = 1; names[++nn] = name }
  if (unit != "ns/op" && unit != "B/op" && unit != "allocs/op" && unit != "MB/s") extra[name] = extra[name] sprintf("%.1f %s ", $3, unit) }
END {
	for (i = 1; i <= nn; i++) {
		n = names[i]
		printf "| %s | %.0f | %.0f | %.0f | %s| %d |\n", n, val[n, "ns/op"], val[n, "B/op"], val[n, "allocs/op"], extra[n], cnt[n]
	}
}' "$out/medians.txt"

echo
echo "## sdk/raw (ratio of medians) against the budget"
echo
echo "| benchmark | time | budget | allocs | budget | B/op | verdict |"
echo "|---|---:|---:|---:|---:|---:|---|"
awk '
{ val[$1, $2] = $3; split($1, p, "/"); if (p[2] == "sdk") bases[p[1]] = 1 }
END {
	nb = split("BenchmarkChargeCreate BenchmarkChargeGet BenchmarkChargeListAll BenchmarkDecodeChargeList", order, " ")
	for (i = 1; i <= nb; i++) {
		b = order[i]
		if (!(b in bases) || val[b "/raw", "ns/op"] == 0) continue
		t = val[b "/sdk", "ns/op"] / val[b "/raw", "ns/op"]
		a = val[b "/sdk", "allocs/op"] / val[b "/raw", "allocs/op"]
		m = val[b "/sdk", "B/op"] / val[b "/raw", "B/op"]
		tb = (b == "BenchmarkDecodeChargeList") ? 1.30 : 1.10
		ok = (t <= tb && a <= 1.25) ? "holds" : "MISSES"
		printf "| %s | %.2f | ≤ %.2f | %.2f | ≤ 1.25 | %.2f | %s |\n", b, t, tb, a, m, ok
		for (x = 1; x <= 2; x++) {
			sub_ = (x == 1) ? "sdk-no-timeout" : "sdk-client"
			s = b "/" sub_
			if (val[s, "ns/op"] > 0) {
				printf "| %s (%s) | %.2f | | %.2f | | %.2f | for reference |\n", b, sub_,
					val[s, "ns/op"] / val[b "/raw", "ns/op"], val[s, "allocs/op"] / val[b "/raw", "allocs/op"],
					val[s, "B/op"] / val[b "/raw", "B/op"]
			}
		}
	}
}' "$out/medians.txt"
