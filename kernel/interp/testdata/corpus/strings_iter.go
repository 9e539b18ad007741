package main

import (
	"fmt"
	"strings"
)

func main() {
	for line := range strings.Lines("a\nb\nc\n") {
		fmt.Printf("%q\n", line)
	}
	for part := range strings.SplitSeq("x,y,z", ",") {
		fmt.Println(part)
	}
	for f := range strings.FieldsSeq("  one two  ") {
		fmt.Println(f)
	}
}
