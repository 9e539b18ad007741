package main

import (
	"fmt"
	"strings"
	"unicode"
)

func main() {
	s := "Hello World 123"
	up, dig := 0, 0
	for _, r := range s {
		if unicode.IsUpper(r) {
			up++
		}
		if unicode.IsDigit(r) {
			dig++
		}
	}
	fmt.Println(up, dig)
	fmt.Println(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return '_'
		}
		return r
	}, s))
}
