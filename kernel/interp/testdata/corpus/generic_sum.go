package main

import "fmt"

type Number interface {
	~int | ~int64 | ~float64
}

func Sum[T Number](xs ...T) T {
	var s T
	for _, x := range xs {
		s += x
	}
	return s
}

func main() {
	fmt.Println(Sum(1.5, 2.5))
	fmt.Println(Sum(1, 2, 3))
	fmt.Println(Sum[int64](4, 5))
}
