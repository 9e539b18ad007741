//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run gen_kernels.go

//go:noescape
func sgemmKernelAVX512(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmKernelAVX512RowA(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmKernelAVX2(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmKernelAVX2RowA(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

// simdKernels returns the assembly kernels the CPU and OS support. x/sys/cpu
// checks XCR0 too, so an OS that does not save ZMM state disables AVX-512.
func simdKernels() []*kernel {
	var ks []*kernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, &kernel{name: "avx512", mr: 8, nr: 32,
			fn: sgemmKernelAVX512, fnRowA: sgemmKernelAVX512RowA, dot: sdotKernelAVX512})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, &kernel{name: "avx2", mr: 4, nr: 24,
			fn: sgemmKernelAVX2, fnRowA: sgemmKernelAVX2RowA})
	}
	return ks
}

//go:noescape
func sdotKernelAVX512(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func gemmU8S8KernelVNNI(kq int, a *uint8, lda int, b *int8, c *int32, ldc int, add int)

//go:noescape
func gemmU8S8KernelVNNIRowA(kq int, a *uint8, lda int, b *int8, c *int32, ldc int, add int)

//go:noescape
func gemmU8S8KernelAVX2(kp int, a, b *int16, c *int32, ldc int, add int)

// simdInt8Kernels returns the int8 kernels the CPU supports, fastest
// first. VPDPBUSD on ZMM needs AVX512_VNNI (which implies AVX512F in
// practice; both are checked).
func simdInt8Kernels() []*int8Kernel {
	var ks []*int8Kernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI {
		ks = append(ks, &int8Kernel{name: "vnni", mr: 8, nr: 32,
			fn: gemmU8S8KernelVNNI, fnRowA: gemmU8S8KernelVNNIRowA})
	}
	if cpu.X86.HasAVX2 {
		ks = append(ks, &int8Kernel{name: "avx2", mr: 4, nr: 16, fnPairs: gemmU8S8KernelAVX2})
	}
	return ks
}

// interleave4 writes dst[4*c+t] = src[t*ld+c] for t < 4 and c < n, n a
// multiple of 16 (see pack_amd64.s).
//
//go:noescape
func interleave4(dst *int8, src *int8, ld int, n int)

// hasTapsKernel gates tapsKernelVNNI: VPDPBUSD on ZMM, and the byte stores
// and down-conversions of its output stage (AVX512BW, AVX512VL).
var hasTapsKernel = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL

// tapsKernelVNNI computes one 8x32 tile of GemmU8S8Taps (see emitTaps).
//
//go:noescape
func tapsKernelVNNI(args *tapsArgs)

// dwKernelVNNI computes pixels of DepthwiseTapsRequant (see emitDW).
//
//go:noescape
func dwKernelVNNI(args *dwArgs)

// dw3x3KernelVNNI computes a row of a 3x3 DepthwiseTapsRequant (see emitDW3x3).
//
//go:noescape
func dw3x3KernelVNNI(args *dw3Args)
