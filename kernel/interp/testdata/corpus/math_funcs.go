package main

import (
	"fmt"
	"math"
)

func main() {
	fmt.Println(math.Sqrt(16), math.Pow(2, 10), math.Abs(-3.5))
	fmt.Printf("%.4f %.4f\n", math.Pi, math.E)
	fmt.Println(math.Floor(2.7), math.Ceil(2.1), math.Round(2.5), math.Trunc(-2.7))
	fmt.Println(math.MaxInt64, math.MinInt64)
	fmt.Println(math.Inf(1), math.IsNaN(math.NaN()))
	fmt.Printf("%.6f %.6f\n", math.Sin(math.Pi/6), math.Log(math.E))
	fmt.Println(math.Max(3, 7), math.Min(3, 7), math.Mod(7, 3))
	fmt.Println(math.Hypot(3, 4))
}
