//go:build !amd64 || purego

package analysis

const (
	useAVX2   = false
	useAVX512 = false
)

// sumMinMaxFine is sumMinMax fused with counting x into fine.
func sumMinMaxFine(x []float32, fine *fineTable, _ *keyBuffer) (float64, float32, float32) {
	countFine(x, fine)
	return sumMinMaxGo(x)
}

func sumMinMax(x []float32) (float64, float32, float32) { return sumMinMaxGo(x) }

func centralSums(x []float32, mean float64) (float64, float64, float64) {
	return centralSumsGo(x, mean)
}

// shiftedSumsFine adds the power sums of x - shift to p, counts x into
// fine and returns the extremes of x.
func shiftedSumsFine(x []float32, shift float64, p *powerSums, fine *fineTable, _ *keyBuffer) (float32, float32) {
	countFine(x, fine)
	return shiftedSumsGo(x, shift, p)
}
