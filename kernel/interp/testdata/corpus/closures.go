package main

import "fmt"

func counter() func() int {
	n := 0
	return func() int {
		n++
		return n
	}
}

func apply(xs []int, f func(int) int) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func main() {
	c := counter()
	c()
	c()
	fmt.Println(c())
	fmt.Println(apply([]int{1, 2, 3}, func(x int) int { return x * x }))
}
