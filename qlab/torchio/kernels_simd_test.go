//go:build !purego

package torchio

// simdKernels: the committed cross-check files were written by a model
// trained with the SIMD kernels, which this build uses where the CPU has
// them.
const simdKernels = true
