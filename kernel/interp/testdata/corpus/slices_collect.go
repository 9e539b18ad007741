package main

import (
	"fmt"
	"maps"
	"slices"
)

func main() {
	m := map[string]int{"b": 2, "a": 1, "c": 3}
	keys := slices.Sorted(maps.Keys(m))
	fmt.Println(keys)
	vals := slices.Collect(maps.Values(m))
	slices.Sort(vals)
	fmt.Println(vals)
	s := []int{3, 1, 2}
	for i, v := range slices.All(s) {
		fmt.Println(i, v)
	}
	fmt.Println(slices.Collect(slices.Values(s)))
}
