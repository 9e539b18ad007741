//go:build !amd64 || purego

package gemm

// simdKernels returns no kernels: outside amd64, or with the purego tag,
// Sgemm runs the portable Go kernel.
func simdKernels() []*kernel { return nil }

// simdInt8Kernels returns no kernels: GemmU8S8 runs the portable Go loop.
func simdInt8Kernels() []*int8Kernel { return nil }
