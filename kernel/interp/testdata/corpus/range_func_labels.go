package main

import (
	"fmt"
	"iter"
	"maps"
	"slices"
)

func pairs(n int) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for i := 0; i < n; i++ {
			if !yield(i, i*i) {
				return
			}
		}
	}
}

func firstSquareOver(limit int) (int, bool) {
outer:
	for _, row := range [][]int{{1, 2}, {3, 4}} {
		for i, sq := range pairs(10) {
			if sq > limit*row[0] {
				fmt.Println("row", row, "stops at", i)
				continue outer
			}
			if i == 5 && row[0] == 3 {
				break outer
			}
		}
	}
	for i, sq := range pairs(10) {
		if sq > limit {
			return i, true
		}
	}
	return 0, false
}

func main() {
	fmt.Println(firstSquareOver(5))

	grid := map[string][]int{"a": {1, 2, 3}, "b": {4, 5, 6}}
	found := ""
search:
	for _, k := range slices.Sorted(maps.Keys(grid)) {
		for v := range slices.Values(grid[k]) {
			if v == 5 {
				found = fmt.Sprint(k, v)
				break search
			}
		}
	}
	fmt.Println("found", found)

	count := 0
rows:
	for i := range pairs(4) {
	cols:
		for j := 0; j < 4; j++ {
			switch {
			case j > i:
				continue rows
			case j == 2:
				break cols
			}
			count++
		}
	}
	fmt.Println("count", count)
}
