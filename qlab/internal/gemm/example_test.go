package gemm_test

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/internal/gemm"
)

func ExampleSgemm() {
	// C (2x2) = A (2x3) * B^T, where B is stored 2x3 (transB).
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{1, 0, 1, 0, 1, 0}
	c := make([]float32, 4)
	gemm.Sgemm(false, true, 2, 2, 3, 1, a, 3, b, 3, 0, c, 2)
	fmt.Println(c)
	// Output: [4 2 10 5]
}

func ExampleGemmU8S8() {
	// Activations quantized with zero point 128, weights symmetric.
	const za = 128
	a := []uint8{128, 130, 126, 129} // 1x4: real values 0, 2, -2, 1 (scale 1)
	b := []int8{1, 2, 3, 4}          // 4x1
	c := make([]int32, 1)
	gemm.GemmU8S8(1, 1, 4, a, 4, b, 1, c, 1)
	colSums := make([]int32, 1)
	gemm.ColSumsS8(4, 1, b, 1, colSums)
	fmt.Println(c[0] - za*colSums[0]) // 0*1 + 2*2 - 2*3 + 1*4
	// Output: 2
}

func ExampleParallelFor() {
	// Each chunk writes only its own outputs, so the result does not depend
	// on how many goroutines ran the chunks.
	x := make([]float32, 10)
	gemm.ParallelFor(len(x), 4, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x[i] = float32(i * i)
		}
	})
	fmt.Println(x)
	// Output: [0 1 4 9 16 25 36 49 64 81]
}
