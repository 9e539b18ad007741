//go:build !amd64 || purego

package analysis

const useAVX2 = false

func sumMinMax(x []float32) (float64, float32, float32) { return sumMinMaxGo(x) }

func centralSums(x []float32, mean float64) (float64, float64, float64) {
	return centralSumsGo(x, mean)
}
