package main

import (
	"fmt"
	"math"
)

func meanStd(xs []float64) (float64, float64) {
	var s float64
	for _, x := range xs {
		s += x
	}
	m := s / float64(len(xs))
	var v float64
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return m, math.Sqrt(v / float64(len(xs)))
}

func main() {
	m, sd := meanStd([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	fmt.Printf("mean=%.3f sd=%.3f\n", m, sd)
}
