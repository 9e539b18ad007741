//go:build purego

package torchio

// simdKernels: the purego build's portable kernels round float sums in
// another order than the SIMD kernels that trained the committed model, so
// the files it writes differ from the committed ones in their last bits.
const simdKernels = false
