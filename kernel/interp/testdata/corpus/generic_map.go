package main

import (
	"fmt"
	"strconv"
)

func Map[T, U any](s []T, f func(T) U) []U {
	out := make([]U, 0, len(s))
	for _, v := range s {
		out = append(out, f(v))
	}
	return out
}

func main() {
	strs := Map([]int{1, 2, 3}, func(i int) string { return strconv.Itoa(i * 2) })
	fmt.Println(strs)
	fmt.Println(Map([]string{"a", "bb"}, func(s string) int { return len(s) }))
}
