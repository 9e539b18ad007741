// Package gemm is qlab's single-precision matrix multiply, the kernel under
// every convolution and dense layer. It is internal: notebooks never call it.
//
// Results are bit-identical for any GOMAXPROCS: work is split only along M
// and N on a fixed tile grid, and every output element accumulates its K
// products in the same order whatever the number of workers.
package gemm
