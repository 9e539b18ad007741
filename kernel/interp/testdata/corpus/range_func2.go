package main

import "fmt"

func pairs(words []string) func(func(int, string) bool) {
	return func(yield func(int, string) bool) {
		for i, w := range words {
			if !yield(i, w) {
				return
			}
		}
	}
}

func main() {
	for i, w := range pairs([]string{"alpha", "beta", "gamma"}) {
		fmt.Printf("%d:%s\n", i, w)
	}
}
