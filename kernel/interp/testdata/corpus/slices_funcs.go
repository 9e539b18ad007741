package main

import (
	"fmt"
	"slices"
)

func main() {
	s := []int{5, 2, 8, 1}
	fmt.Println(slices.Contains(s, 8), slices.Index(s, 2))
	s2 := slices.Clone(s)
	slices.Sort(s2)
	fmt.Println(s2, s)
	fmt.Println(slices.Max(s), slices.Min(s))
	slices.Reverse(s2)
	fmt.Println(s2)
	i, found := slices.BinarySearch([]int{1, 3, 5, 7}, 5)
	fmt.Println(i, found)
	fmt.Println(slices.Equal([]int{1, 2}, []int{1, 2}))
	fmt.Println(slices.Compact([]int{1, 1, 2, 2, 2, 3}))
	fmt.Println(slices.Insert([]int{1, 4}, 1, 2, 3))
}
