package main

import (
	"fmt"
	"io"
	"strings"
)

func main() {
	r, w := io.Pipe()
	go func() {
		fmt.Fprint(w, "through the pipe")
		w.Close()
	}()
	b, err := io.ReadAll(r)
	fmt.Println(string(b), err)
	var sb strings.Builder
	n, _ := io.Copy(&sb, io.LimitReader(strings.NewReader("abcdef"), 4))
	fmt.Println(n, sb.String())
	mr := io.MultiReader(strings.NewReader("a"), strings.NewReader("b"))
	all, _ := io.ReadAll(mr)
	fmt.Println(string(all))
}
