//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run gen_kernels.go

//go:noescape
func sgemmKernelAVX512(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmKernelAVX2(k int, a, b, c *float32, ldc int, alpha, beta float32)

// simdKernels returns the assembly kernels the CPU and OS support. x/sys/cpu
// checks XCR0 too, so an OS that does not save ZMM state disables AVX-512.
func simdKernels() []*kernel {
	var ks []*kernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, &kernel{name: "avx512", mr: 8, nr: 32, fn: sgemmKernelAVX512, dot: sdotKernelAVX512})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, &kernel{name: "avx2", mr: 4, nr: 24, fn: sgemmKernelAVX2})
	}
	return ks
}

//go:noescape
func sdotKernelAVX512(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)
