//go:build !amd64 || purego

package gemm

// simdKernels returns no kernels: outside amd64, or with the purego tag,
// Sgemm runs the portable Go kernel.
func simdKernels() []*kernel { return nil }
