package main

import (
	"fmt"
	"sort"
	"strings"
)

func main() {
	text := "the quick brown fox jumps over the lazy dog the end"
	freq := map[string]int{}
	for _, w := range strings.Fields(text) {
		freq[w]++
	}
	type kv struct {
		K string
		V int
	}
	var kvs []kv
	for k, v := range freq {
		kvs = append(kvs, kv{k, v})
	}
	sort.Slice(kvs, func(i, j int) bool {
		if kvs[i].V != kvs[j].V {
			return kvs[i].V > kvs[j].V
		}
		return kvs[i].K < kvs[j].K
	})
	for _, e := range kvs[:3] {
		fmt.Println(e.K, e.V)
	}
}
