// Package gemm is qlab's single-precision matrix multiply, the kernel under
// every convolution and dense layer, plus ParallelFor, a deterministic
// parallel loop for callers that split work themselves. It is internal:
// notebooks never call it.
//
// Sgemm packs panels of A and B into reusable buffers and runs a register-
// tile micro-kernel chosen once at start-up: AVX-512 (8x32 tile) or
// AVX2+FMA (4x24) assembly on amd64, a portable Go kernel elsewhere and
// under the purego build tag. A steady-state call allocates nothing.
//
// Results are bit-identical for any GOMAXPROCS: work is split only along M
// and N on a tile grid fixed by the shape, and every output element
// accumulates its K products in the same order (fixed K blocks of kc)
// whatever the number of workers and whichever worker computes it.
//
// The boundary: this package multiplies dense row-major float32 matrices
// and knows nothing of layers, tensors or shapes beyond m, n, k and strides;
// callers (im2col convolution, dense layers) validate user shapes first.
package gemm
