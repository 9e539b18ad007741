package gemm

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// benchShape is one product of RefNet-S training (input 3x32x32, batch 64,
// 3x3 convolutions with pad 1, im2col layout).
type benchShape struct {
	name           string
	transA, transB bool
	m, n, k        int
}

// refNetShapes lists, per convolution, the forward product W[out, in*9] x
// col[in*9, HW] for one sample and for the whole batch (N = HW*64), the
// backward-data product W^T x dY[out, HW] for one sample, and the
// backward-weights product dY[out, HW] x col^T for one sample and over the
// whole batch (K = HW*64).
func refNetShapes() []benchShape {
	const batch = 64
	convs := []struct {
		name         string
		cin, cout, s int
	}{
		{"conv1_3to32_32x32", 3, 32, 32},
		{"conv2_32to32_32x32", 32, 32, 32},
		{"conv3_32to64_16x16", 32, 64, 16},
		{"conv4_64to64_16x16", 64, 64, 16},
		{"conv5_64to128_8x8", 64, 128, 8},
	}
	var out []benchShape
	for _, c := range convs {
		hw, kk := c.s*c.s, c.cin*9
		out = append(out,
			benchShape{c.name + "/fwd_sample", false, false, c.cout, hw, kk},
			benchShape{c.name + "/fwd_batch", false, false, c.cout, hw * batch, kk},
			benchShape{c.name + "/bwd_data_sample", true, false, kk, hw, c.cout},
			benchShape{c.name + "/bwd_weights_sample", false, true, c.cout, kk, hw},
			benchShape{c.name + "/bwd_weights_batch", false, true, c.cout, kk, hw * batch},
		)
	}
	return out
}

// BenchmarkRefNetS measures each RefNet-S product with every available
// kernel through Sgemm (parallel) and SgemmSerial, the plain reference
// implementation, and gonum's blas32.Gemm for context. Run for example with
// go test -run=NONE -bench=RefNetS -benchtime=20x ./qlab/internal/gemm
func BenchmarkRefNetS(b *testing.B) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, sh := range refNetShapes() {
		a, lda, bm, ldb, c, ldc := operands(r, sh.transA, sh.transB, sh.m, sh.n, sh.k, 0)
		flops := 2 * float64(sh.m) * float64(sh.n) * float64(sh.k)
		// report gives GFLOP/s over wall time and, where the process CPU
		// time is known, GFLOP per CPU second: for a serial run on a busy
		// machine the latter is the speed when actually running; for a
		// parallel run it is the speed per core.
		report := func(b *testing.B, cpu0 time.Duration) {
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if cpu := processCPU() - cpu0; cpu0 != 0 && cpu > 0 {
				b.ReportMetric(flops*float64(b.N)/cpu.Seconds()/1e9, "GFLOP/cpu-s")
			}
		}
		for _, kern := range kernels {
			for _, serial := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s", sh.name, kern.name)
				f := Sgemm
				if serial {
					name += "_serial"
					f = SgemmSerial
				}
				b.Run(name, func(b *testing.B) {
					restore, _ := useKernel(kern.name)
					defer restore()
					f(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, a, lda, bm, ldb, 0, c, ldc) // warm the pools
					b.ReportAllocs()
					cpu0 := processCPU()
					for b.Loop() {
						f(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, a, lda, bm, ldb, 0, c, ldc)
					}
					report(b, cpu0)
				})
			}
		}
		b.Run(sh.name+"/ref", func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				sgemmRef(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, a, lda, bm, ldb, 0, c, ldc)
			}
			report(b, cpu0)
		})
		b.Run(sh.name+"/gonum", func(b *testing.B) {
			tA, tB := blas.NoTrans, blas.NoTrans
			ga := blas32.General{Rows: sh.m, Cols: sh.k, Stride: lda, Data: a}
			gb := blas32.General{Rows: sh.k, Cols: sh.n, Stride: ldb, Data: bm}
			if sh.transA {
				tA, ga.Rows, ga.Cols = blas.Trans, sh.k, sh.m
			}
			if sh.transB {
				tB, gb.Rows, gb.Cols = blas.Trans, sh.n, sh.k
			}
			gc := blas32.General{Rows: sh.m, Cols: sh.n, Stride: ldc, Data: c}
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				blas32.Gemm(tA, tB, 1, ga, gb, 0, gc)
			}
			report(b, cpu0)
		})
	}
}

// BenchmarkRefNetSImageGEMMs runs, on one goroutine, every product one
// RefNet-S training image needs (per-sample forward, backward-data except
// for the first layer, and backward-weights accumulating with beta 1) and
// reports images/s: the ceiling the GEMMs alone put on single-core training
// throughput (about 173 MFLOP per image).
func BenchmarkRefNetSImageGEMMs(b *testing.B) {
	r := rand.New(rand.NewPCG(13, 14))
	type prod struct {
		sh   benchShape
		beta float32
		a, b []float32
		lda  int
		ldb  int
		c    []float32
		ldc  int
	}
	var prods []prod
	var flops float64
	for _, sh := range refNetShapes() {
		if strings.HasSuffix(sh.name, "_batch") || sh.name == "conv1_3to32_32x32/bwd_data_sample" {
			continue
		}
		a, lda, bm, ldb, c, ldc := operands(r, sh.transA, sh.transB, sh.m, sh.n, sh.k, 0)
		beta := float32(0)
		if strings.HasSuffix(sh.name, "bwd_weights_sample") {
			beta = 1 // weight gradients accumulate over the batch
		}
		prods = append(prods, prod{sh, beta, a, bm, lda, ldb, c, ldc})
		flops += 2 * float64(sh.m) * float64(sh.n) * float64(sh.k)
	}
	for _, kern := range kernels {
		b.Run(kern.name, func(b *testing.B) {
			restore, _ := useKernel(kern.name)
			defer restore()
			run := func() {
				for _, p := range prods {
					SgemmSerial(p.sh.transA, p.sh.transB, p.sh.m, p.sh.n, p.sh.k, 1, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc)
				}
			}
			run() // warm the pools
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				run()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
			if cpu := processCPU() - cpu0; cpu0 != 0 && cpu > 0 {
				b.ReportMetric(float64(b.N)/cpu.Seconds(), "images/cpu-s")
				b.ReportMetric(flops*float64(b.N)/cpu.Seconds()/1e9, "GFLOP/cpu-s")
			}
		})
	}
}
