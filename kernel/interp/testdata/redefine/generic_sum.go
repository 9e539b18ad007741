package main

import "fmt"

//qlab:cell
func Sum[T any](xs []T, f func(T) float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += f(x)
	}
	return s
}

//qlab:cell
type Sample struct {
	W     float64
	Scale float64
}

func (s Sample) Value() float64 { return s.W * s.Scale }

func scaled(ws ...float64) []Sample {
	var out []Sample
	for _, w := range ws {
		out = append(out, Sample{W: w, Scale: 10})
	}
	return out
}

//qlab:cell
func total(xs []Sample) float64 { return Sum(xs, func(s Sample) float64 { return s.Value() }) }

//qlab:cell
func main() {
	fmt.Println(total(scaled(1, 2, 3)), Sum(scaled(4), func(s Sample) float64 { return s.W + 1 }))
}
