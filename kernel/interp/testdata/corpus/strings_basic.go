package main

import (
	"fmt"
	"strings"
)

func main() {
	s := "Hello, World"
	fmt.Println(strings.ToUpper(s), strings.ToLower(s))
	fmt.Println(strings.Contains(s, "World"), strings.HasPrefix(s, "He"), strings.HasSuffix(s, "ld"))
	fmt.Println(strings.Split("a,b,c", ","), len(strings.Fields(" a b  c ")))
	fmt.Println(strings.Join([]string{"x", "y"}, "-"))
	fmt.Println(strings.Replace("aaa", "a", "b", 2), strings.ReplaceAll("aaa", "a", "c"))
	fmt.Println(strings.TrimSpace("  pad  "), strings.Trim("--x--", "-"))
	fmt.Println(strings.Index("chicken", "ken"), strings.Repeat("ab", 3))
	fmt.Println(strings.Title("go lang"))
	fmt.Println(strings.EqualFold("Go", "GO"), strings.Count("cheese", "e"))
}
