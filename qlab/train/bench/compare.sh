#!/bin/sh
# Compare qlab's RefNet benchmarks with PyTorch on the same workload.
#
#   qlab/train/bench/compare.sh [iterations]      (default 20 timed iterations each)
#
# Runs the Go benchmarks of qlab/train (BenchmarkTrainRefNetS,
# BenchmarkTrainRefNetDWS, BenchmarkInferRefNetS) and qlab/train/bench/pytorch_refnet.py
# under Debian's /usr/bin/python3 with torch on 2 threads, then prints
# images/s side by side and the qlab/PyTorch ratio (> 1: qlab is faster).
# Both sides run one after the other on the same machine; run it on an idle
# machine, the numbers are only as quiet as the host.
set -eu
cd "$(dirname "$0")/../../.."
iters=${1:-20}
py=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "qlab:    go test -run '^\$' -bench RefNet -benchtime=${iters}x ./qlab/train" >&2
GOMAXPROCS=${GOMAXPROCS:-2} go test -count=1 -run '^$' -bench 'RefNet' -benchtime="${iters}x" ./qlab/train |
	tee "$tmp/go.txt" >&2
echo "pytorch: $py qlab/train/bench/pytorch_refnet.py --iters $iters" >&2
"$py" qlab/train/bench/pytorch_refnet.py --iters "$iters" | tee "$tmp/py.txt" >&2

# Go lines look like "BenchmarkTrainRefNetS-2  20  773111469 ns/op  82.78 images/s ...".
awk '
	FNR == NR {
		if ($1 ~ /^Benchmark/) {
			name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
			for (i = 2; i < NF; i++) if ($(i+1) == "images/s") q[name] = $i
		}
		next
	}
	{ p[$1] = $2; order[++n] = $1 }
	END {
		printf "%-16s %12s %12s %8s\n", "benchmark", "qlab img/s", "torch img/s", "ratio"
		for (i = 1; i <= n; i++) {
			k = order[i]
			if (k in q) printf "%-16s %12.1f %12.1f %8.2f\n", k, q[k], p[k], q[k] / p[k]
			else printf "%-16s %12s %12.1f %8s\n", k, "missing", p[k], "-"
		}
	}
' "$tmp/go.txt" "$tmp/py.txt"
