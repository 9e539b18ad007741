package main

import (
	"fmt"
	"slices"
)

type resource struct{ name string }

func (r *resource) Close() { fmt.Println("close", r.name) }

func open(names []string) (n int) {
	defer fmt.Println("open done")
	for name := range slices.Values(names) {
		r := &resource{name}
		defer r.Close()
		defer func() { n++ }()
		fmt.Println("opened", name)
	}
	fmt.Println("all opened")
	return 0
}

func main() {
	fmt.Println("n =", open([]string{"a", "b", "c"}))
}
