package main

import (
	"fmt"
	"math"
)

func clamp(x, lo, hi float64) float64 { return max(lo, min(x, hi)) }

func main() {
	fmt.Println(clamp(5, 0, 1), clamp(-1, 0, 1), clamp(0.5, 0, 1))
	fmt.Println(min(math.Inf(1), 3.0))
	const c = max(1, 2.5)
	fmt.Println(c)
	var u8 uint8 = 200
	fmt.Println(max(u8, 100))
}
