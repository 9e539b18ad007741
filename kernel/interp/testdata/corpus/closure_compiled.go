package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

func main() {
	// Closures handed to compiled code that runs them later see the
	// variables of their own iteration (Go 1.22).
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []string
	for i, name := range []string{"a", "b", "c"} {
		wg.Go(func() {
			mu.Lock()
			got = append(got, fmt.Sprint(name, i))
			mu.Unlock()
		})
	}
	wg.Wait()
	sort.Strings(got)
	fmt.Println(got)

	var onces []func()
	for i := 0; i < 3; i++ {
		onces = append(onces, sync.OnceFunc(func() { fmt.Print(i*i, " ") }))
	}
	for _, f := range onces {
		f()
		f()
	}
	fmt.Println()

	// Closures run at once by compiled code, in a loop.
	words := [][]string{{"pear", "fig", "apple"}, {"kiwi", "banana"}}
	for _, ws := range words {
		sort.Slice(ws, func(a, b int) bool { return len(ws[a]) < len(ws[b]) })
		fmt.Println(ws, strings.Map(func(r rune) rune { return r - 32 }, ws[0]))
	}
	total := 0
	for _, n := range []int{3, 1, 2} {
		i := sort.Search(10, func(k int) bool { return k >= n })
		total += i
	}
	fmt.Println(total, slices.Index([]int{1, 2}, 2))
}
