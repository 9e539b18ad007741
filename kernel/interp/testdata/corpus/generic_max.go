package main

import (
	"cmp"
	"fmt"
)

func MaxOf[T cmp.Ordered](xs []T) T {
	m := xs[0]
	for _, x := range xs[1:] {
		if x > m {
			m = x
		}
	}
	return m
}

func main() {
	fmt.Println(MaxOf([]int{3, 9, 2}))
	fmt.Println(MaxOf([]string{"b", "z", "a"}))
	fmt.Println(MaxOf([]float64{1.5, -2}))
}
