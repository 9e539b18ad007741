package main

import (
	"fmt"
	"maps"
	"slices"
)

func main() {
	m := map[string]int{"x": 10, "y": 20}
	var lines []string
	for k, v := range maps.All(m) {
		lines = append(lines, fmt.Sprintf("%s=%d", k, v))
	}
	slices.Sort(lines)
	fmt.Println(lines)
	c := maps.Clone(m)
	c["z"] = 30
	fmt.Println(len(m), len(c))
	fmt.Println(maps.Equal(m, c))
}
