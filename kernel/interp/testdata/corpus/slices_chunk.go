package main

import (
	"fmt"
	"slices"
)

func main() {
	for c := range slices.Chunk([]int{1, 2, 3, 4, 5}, 2) {
		fmt.Println(c)
	}
	for i, v := range slices.Backward([]string{"a", "b", "c"}) {
		fmt.Println(i, v)
	}
	s := slices.AppendSeq([]int{0}, slices.Values([]int{1, 2}))
	fmt.Println(s)
	fmt.Println(slices.Repeat([]int{1, 2}, 2))
}
