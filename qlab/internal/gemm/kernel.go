package gemm

import "unsafe"

// A kernel is a register-tile micro-kernel and its tile shape. fn
// multiplies an mr x k block of A stored k-major (the mr values of step p
// at a[p*lda:]: a packed panel when lda = mr, a transposed A read in place
// otherwise) by a k x nr block of B (row stride ldb: nr for a
// packed panel, or B's own stride when read in place) and merges the
// product into an mr x nr block of C (row stride ldc):
//
//	acc = sum over p in order of A[i][p] * B[p][j]
//	C   = alpha*acc             if beta == 0 (C is not read)
//	C   = beta*C + alpha*acc    otherwise
//
// fnRowA does the same with A read in place (row stride lda). Both run the
// same instruction sequence on the same values, so which one computes a
// tile never changes the result; each is deterministic, which is what makes
// Sgemm independent of scheduling.
//
// dot, when set, is a kernel for the A*B^T case (transA false, transB true)
// that reads both operands in place, with the same merge rule, for a
// dotTile x dotTile block; see sdotKernelAVX512.
type kernel struct {
	name   string
	mr, nr int
	fn     func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)
	fnRowA func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)
	dot    func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)
}

// dotTile is the C block edge of kernel.dot.
const dotTile = 4

// goKernel is the portable kernel, used when no SIMD kernel applies and
// under the purego build tag. A 4x4 tile keeps its 16 accumulators within
// the 16 float registers amd64 and most other targets have.
var goKernel = &kernel{name: "go", mr: 4, nr: 4, fn: sgemmKernelGo, fnRowA: sgemmKernelGoRowA}

func sgemmKernelGo(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32) {
	sgemmKernelGoStrided(k, a, 1, lda, b, ldb, c, ldc, alpha, beta)
}

func sgemmKernelGoRowA(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32) {
	sgemmKernelGoStrided(k, a, lda, 1, b, ldb, c, ldc, alpha, beta)
}

// sgemmKernelGoStrided is the Go kernel with A element (i, p) at
// a[i*rs+p*ks].
func sgemmKernelGoStrided(k int, a *float32, rs, ks int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32) {
	as := unsafe.Slice(a, 3*rs+(k-1)*ks+1)
	bs := unsafe.Slice(b, (k-1)*ldb+4)
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		bp := bs[p*ldb : p*ldb+4 : p*ldb+4]
		a0, a1, a2, a3 := as[p*ks], as[p*ks+rs], as[p*ks+2*rs], as[p*ks+3*rs]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	acc := [16]float32{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33}
	for i := 0; i < 4; i++ {
		row := cs[i*ldc : i*ldc+4 : i*ldc+4]
		for j := range row {
			v := alpha * acc[4*i+j]
			if beta != 0 {
				// The explicit conversion forbids fusing into an FMA, so the
				// result is the same on every architecture.
				v = float32(beta*row[j]) + v
			}
			row[j] = v
		}
	}
}

// kernels lists the kernels this CPU can run, fastest first; active is the
// one Sgemm uses. Tests switch active through useKernel.
var (
	kernels = append(simdKernels(), goKernel)
	active  = kernels[0]
)

// useKernel makes the kernel with the given name active and returns a
// function restoring the previous one, or ok=false if this CPU cannot run it.
// It is for tests and benchmarks only: it must not race with Sgemm calls.
func useKernel(name string) (restore func(), ok bool) {
	for _, k := range kernels {
		if k.name == name {
			prev := active
			active = k
			return func() { active = prev }, true
		}
	}
	return nil, false
}
