#!/bin/sh
# Compare qlab's inference with PyTorch's: integer-only int8 against
# PyTorch 1.13 eager-mode static quantization on oneDNN, and float against
# PyTorch fp32.
#
#   qlab/train/bench/compare_int8.sh [rounds] [iterations]   (default 3 rounds, 50 iterations)
#
# THREADS (default 2) sets both torch.set_num_threads and GOMAXPROCS.
# Each round runs qlab/train/bench/pytorch_int8.py (Debian's /usr/bin/python3,
# which re-executes itself with glibc malloc tunables so that PyTorch's
# per-forward buffers are not mmapped and page-faulted every time; see its
# doc) and then qlab's benchmarks:
#   InferInt8RefNetS, InferInt8RefNetDWS  qlab/quant  (IntModel.Forward, TFLite int8)
#   InferFloatRefNetS                     qlab/quant  (eval-mode float model with batch
#                                         norm, as qlab/train's BenchmarkInferRefNetS, but
#                                         with non-trivial BN statistics like the torch side)
# alternating the two sides so that load on a shared machine hits both alike,
# then prints every round, the median images/s of each side and the ratio of
# the medians (> 1: qlab is faster), and the same for images per CPU second
# of each process. Test binaries are built before the first round, so no
# round includes compilation. The numbers are only as quiet as the host: on
# a loaded machine wall-clock images/s mostly measures the load (PyTorch's
# OpenMP threads spin-wait for each other), so say so when quoting them;
# images/cpu-s is steadier there, and THREADS=1 compares one core with one.
set -eu
cd "$(dirname "$0")/../../.."
rounds=${1:-3}
iters=${2:-50}
py=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
threads=${THREADS:-2}
export GOMAXPROCS="$threads"

go test -c -o "$tmp/quant.test" ./qlab/quant

# Go lines look like
# "BenchmarkInferInt8RefNetS-2  50  7981234 ns/op  8032 images/cpu-s  8019 images/s ...";
# print "<prefix> <name> <images/s> <images/cpu-s>".
goimgs() {
	awk -v pre="$2" '$1 ~ /^Benchmark/ {
		name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
		w = "-"; c = "-"
		for (i = 2; i < NF; i++) {
			if ($(i+1) == "images/s") w = $i
			if ($(i+1) == "images/cpu-s") c = $i
		}
		print pre name, w, c
	}' "$1"
}

r=1
while [ "$r" -le "$rounds" ]; do
	echo "round $r: pytorch" >&2
	"$py" qlab/train/bench/pytorch_int8.py --iters "$iters" --threads "$threads" | sed "s/^/torch $r /" >>"$tmp/all.txt"
	echo "round $r: qlab" >&2
	(cd qlab/quant && "$tmp/quant.test" -test.run '^$' \
		-test.bench '^Benchmark(InferInt8RefNetS|InferInt8RefNetDWS|InferFloatRefNetS)$' \
		-test.benchtime "${iters}x") >"$tmp/q.txt"
	goimgs "$tmp/q.txt" "qlab $r " >>"$tmp/all.txt"
	r=$((r + 1))
done

awk -v threads="$threads" '
	function median(list,   n, a, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
	}
	{
		side = $1; name = $3
		wall[side, name] = wall[side, name] " " $4
		if ($5 != "-") cpu[side, name] = cpu[side, name] " " $5
		if (!(name in seen)) { seen[name] = 1; order[++n] = name }
	}
	function table(title, runs,   i, s, side, k, q, p) {
		printf "\n%s, %d thread(s)\n%-20s %-6s %s\n", title, threads, "benchmark", "side", "per round"
		for (i = 1; i <= n; i++) for (s = 0; s < 2; s++) {
			side = s ? "torch" : "qlab"
			printf "%-20s %-6s%s\n", order[i], side, runs[side, order[i]]
		}
		printf "%-20s %12s %12s %8s\n", "benchmark", "qlab median", "torch median", "ratio"
		for (i = 1; i <= n; i++) {
			k = order[i]
			if (runs["qlab", k] == "" || runs["torch", k] == "") { printf "%-20s missing\n", k; continue }
			q = median(runs["qlab", k]); p = median(runs["torch", k])
			printf "%-20s %12.1f %12.1f %8.2f\n", k, q, p, q / p
		}
	}
	END {
		table("images/s (wall clock)", wall)
		table("images/cpu-s (process CPU time)", cpu)
	}
' "$tmp/all.txt"
