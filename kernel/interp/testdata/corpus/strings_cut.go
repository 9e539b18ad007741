package main

import (
	"fmt"
	"strings"
)

func main() {
	before, after, found := strings.Cut("key=value", "=")
	fmt.Println(before, after, found)
	s, ok := strings.CutPrefix("prefix-body", "prefix-")
	fmt.Println(s, ok)
	s, ok = strings.CutSuffix("file.go", ".go")
	fmt.Println(s, ok)
	fmt.Println(strings.ContainsFunc("abc1", func(r rune) bool { return r >= '0' && r <= '9' }))
}
