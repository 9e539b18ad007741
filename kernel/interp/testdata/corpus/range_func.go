package main

import "fmt"

func count(n int) func(func(int) bool) {
	return func(yield func(int) bool) {
		for i := 0; i < n; i++ {
			if !yield(i) {
				return
			}
		}
	}
}

func firstOver(limit int) int {
	for v := range count(100) {
		if v*v > limit {
			return v
		}
	}
	return -1
}

func main() {
	for v := range count(10) {
		if v%2 == 0 {
			continue
		}
		if v > 7 {
			break
		}
		fmt.Print(v, " ")
	}
	fmt.Println()
	fmt.Println(firstOver(50))
}
