//go:build !amd64 || purego

package gemm

import "unsafe"

// simdKernels returns no kernels: outside amd64, or with the purego tag,
// Sgemm runs the portable Go kernel.
func simdKernels() []*kernel { return nil }

// simdInt8Kernels returns no kernels: GemmU8S8 runs the portable Go loop.
func simdInt8Kernels() []*int8Kernel { return nil }

// interleave4 writes dst[4*c+t] = src[t*ld+c] for t < 4 and c < n.
func interleave4(dst *int8, src *int8, ld int, n int) {
	if n == 0 {
		return
	}
	d := unsafe.Slice(dst, 4*n)
	s := unsafe.Slice(src, 3*ld+n)
	for c := 0; c < n; c++ {
		for t := 0; t < 4; t++ {
			d[4*c+t] = s[t*ld+c]
		}
	}
}

// hasTapsKernel is false: GemmU8S8Taps runs its portable Go path.
var hasTapsKernel = false

func tapsKernelVNNI(args *tapsArgs) { panic("gemm: tapsKernelVNNI without AVX-512 VNNI") }

func dwKernelVNNI(args *dwArgs) { panic("gemm: dwKernelVNNI without AVX-512 VNNI") }

func dw3x3KernelVNNI(args *dw3Args) { panic("gemm: dw3x3KernelVNNI without AVX-512 VNNI") }
