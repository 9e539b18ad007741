package gemm

// GemmU8S8Serial is GemmU8S8 on the calling goroutine only: for callers
// that already run many independent small products in parallel (one per
// fixed chunk of output rows, as quant's integer convolutions do), where
// nested sharing would only add hand-off overhead. Results are identical to
// GemmU8S8's.
func GemmU8S8Serial(m, n, k int, a []uint8, lda int, b []int8, ldb int, c []int32, ldc int) {
	gemmU8S8(activeInt8, false, m, n, k, a, lda, b, ldb, c, ldc)
}
