#!/bin/sh
# Compare qlab's inference with PyTorch's: integer-only int8 against
# PyTorch 1.13 eager-mode static quantization on oneDNN, and float against
# PyTorch fp32.
#
#   qlab/train/bench/compare_int8.sh [rounds] [iterations]   (default 3 rounds, 50 iterations)
#
# Each round runs qlab/train/bench/pytorch_int8.py (Debian's /usr/bin/python3,
# torch on 2 threads) and then qlab's benchmarks on GOMAXPROCS=2:
#   InferInt8RefNetS, InferInt8RefNetDWS  qlab/quant  (IntModel.Forward, TFLite int8)
#   InferFloatRefNetS                     qlab/train  (BenchmarkInferRefNetS, eval-mode float)
# alternating the two sides so that load on a shared machine hits both alike,
# then prints every round, the median images/s of each side and the ratio of
# the medians (> 1: qlab is faster). Test binaries are built before the first
# round, so no round includes compilation. The numbers are only as quiet as
# the host: on a loaded machine say so when quoting them.
set -eu
cd "$(dirname "$0")/../../.."
rounds=${1:-3}
iters=${2:-50}
py=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GOMAXPROCS="${GOMAXPROCS:-2}"

go test -c -o "$tmp/quant.test" ./qlab/quant
go test -c -o "$tmp/train.test" ./qlab/train

# Go lines look like "BenchmarkInferInt8RefNetS-2  50  7981234 ns/op ... 8019 images/s ...".
goimgs() {
	awk -v pre="$2" '$1 ~ /^Benchmark/ {
		name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
		for (i = 2; i < NF; i++) if ($(i+1) == "images/s") print pre name, $i
	}' "$1"
}

r=1
while [ "$r" -le "$rounds" ]; do
	echo "round $r: pytorch" >&2
	"$py" qlab/train/bench/pytorch_int8.py --iters "$iters" | sed "s/^/torch $r /" >>"$tmp/all.txt"
	echo "round $r: qlab" >&2
	(cd qlab/quant && "$tmp/quant.test" -test.run '^$' -test.bench '^BenchmarkInferInt8RefNet(S|DWS)$' \
		-test.benchtime "${iters}x") >"$tmp/q.txt"
	(cd qlab/train && "$tmp/train.test" -test.run '^$' -test.bench '^BenchmarkInferRefNetS$' \
		-test.benchtime "${iters}x") >"$tmp/t.txt"
	goimgs "$tmp/q.txt" "qlab $r " >>"$tmp/all.txt"
	goimgs "$tmp/t.txt" "qlab $r " | sed 's/InferRefNetS/InferFloatRefNetS/' >>"$tmp/all.txt"
	r=$((r + 1))
done

awk '
	function median(list,   n, a, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
	}
	{
		side = $1; name = $3; v = $4
		runs[side, name] = runs[side, name] " " v
		if (!(name in seen)) { seen[name] = 1; order[++n] = name }
	}
	END {
		printf "%-20s %-6s %s\n", "benchmark", "side", "images/s per round"
		for (i = 1; i <= n; i++) for (s = 0; s < 2; s++) {
			side = s ? "torch" : "qlab"
			printf "%-20s %-6s%s\n", order[i], side, runs[side, order[i]]
		}
		printf "\n%-20s %12s %12s %8s\n", "benchmark", "qlab median", "torch median", "ratio"
		for (i = 1; i <= n; i++) {
			k = order[i]
			if (runs["qlab", k] == "" || runs["torch", k] == "") { printf "%-20s missing\n", k; continue }
			q = median(runs["qlab", k]); p = median(runs["torch", k])
			printf "%-20s %12.1f %12.1f %8.2f\n", k, q, p, q / p
		}
	}
' "$tmp/all.txt"
