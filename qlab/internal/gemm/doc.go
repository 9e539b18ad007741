// Package gemm is qlab's matrix multiply: Sgemm (float32), the kernel
// under every convolution and dense layer; GemmU8S8 (uint8 x int8 -> int32)
// for the quantized inference path; and ParallelFor, a deterministic
// parallel loop for callers that split work themselves. It is internal:
// notebooks never call it.
//
// Sgemm runs a register-tile micro-kernel chosen once at start-up with
// golang.org/x/sys/cpu: AVX-512 (8x32 tile, plus an in-place dot-product
// kernel for A*B^T) or AVX2+FMA (4x24) assembly on amd64, a portable Go
// kernel elsewhere and under the purego build tag. A (either orientation)
// and a non-transposed B are read in place when their strides are moderate;
// a transposed B (outside the dot kernel), very long strides and ragged
// edge tiles are packed into pooled buffers. A steady-state call allocates
// nothing.
//
// Results are bit-identical for any GOMAXPROCS: work is split only along M
// and N, on a grid that depends only on the shape, and every output element
// accumulates its K products in the same order (fixed K blocks) whatever
// the number of workers and whichever worker computes it. Which code path
// a product takes (packed or in place, tile or dot kernel) also depends
// only on the shape, strides and CPU. Results may differ in the last bits
// between CPUs with different kernels.
//
// For integer convolutions without im2col, GemmU8S8TapsInt32 and
// GemmU8S8TapsRequant multiply weights packed once (PackS8Taps) by an
// implicit matrix whose rows are runs of bytes read in place at fixed
// offsets ("taps") from each output pixel's base, and DepthwiseTapsRequant
// does the same per channel. The Requant forms end in RequantS8, gemmlowp's
// fixed-point output stage (per-column bias, multiplier and right shift,
// clamp, offset), applied to the accumulators in registers by the AVX-512
// VNNI kernels and by a portable loop elsewhere (U8S8TapsFast tells which);
// when the operands' bounds keep every intermediate inside int32, the
// kernels take a shorter instruction sequence with the same results.
//
// The boundary: this package multiplies matrices given as slices,
// dimensions, strides and tap offsets, and knows nothing of layers, tensors
// or quantization parameters beyond that integer output stage; callers
// (im2col convolution, dense layers, quantized inference) validate user
// shapes first and derive zero points, multipliers and shifts.
package gemm
