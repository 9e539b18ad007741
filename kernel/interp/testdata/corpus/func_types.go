package main

import (
	"fmt"
	"sort"
)

type Op func(a, b int) int

func main() {
	ops := map[string]Op{
		"add": func(a, b int) int { return a + b },
		"mul": func(a, b int) int { return a * b },
		"sub": func(a, b int) int { return a - b },
	}
	names := make([]string, 0)
	for k := range ops {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Println(n, ops[n](6, 3))
	}
	variadic := func(xs ...int) int { return len(xs) }
	fmt.Println(variadic(), variadic(1, 2), variadic([]int{1, 2, 3}...))
}
