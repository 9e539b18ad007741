package main

import (
	"fmt"
	"maps"
	"slices"
)

func main() {
	m := map[string]int{"a": 1}
	maps.Insert(m, maps.All(map[string]int{"b": 2, "c": 3}))
	fmt.Println(slices.Sorted(maps.Keys(m)))
	c := maps.Collect(maps.All(m))
	fmt.Println(len(c))
	maps.DeleteFunc(c, func(k string, v int) bool { return v > 1 })
	fmt.Println(c)
}
