package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type counter struct{ n int }

func (c counter) show(tag string) { fmt.Println(tag, c.n) }

func (c *counter) report() { fmt.Println("report", c.n) }

func handle(tag string) {
	if r := recover(); r != nil {
		fmt.Println(tag, "recovered:", r)
	}
}

func risky() {
	defer handle("risky")
	panic("boom")
}

func receivers() {
	c := counter{1}
	defer c.show("value receiver")
	c.n = 2
	p := &counter{3}
	defer p.show("value method of a pointer")
	p.n = 4
	defer p.report()
	p.n = 5
}

func loop() {
	for i := 0; i < 3; i++ {
		defer fmt.Println("deferred", i)
	}
	for i := range 2 {
		c := &counter{10 + i}
		defer c.report()
	}
}

func variadic(xs ...int) {
	parts := []string{"p", "q"}
	defer fmt.Println(strings.Join(parts, "+"), len(xs))
	parts[0] = "changed"
	defer fmt.Println(parts)
	args := []any{1, 2}
	defer fmt.Println(args...)
	args = []any{3}
	x := 1
	defer fmt.Printf("x=%d\n", x)
	x = 2
}

func files() (n int) {
	dir, err := os.MkdirTemp("", "corpus-defer")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	for i := 0; i < 2; i++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			fmt.Println(err)
			return
		}
		defer f.Close()
		fmt.Fprintln(f, i)
		n++
	}
	return n
}

func main() {
	risky()
	receivers()
	loop()
	variadic(1, 2, 3)
	fmt.Println("files", files())
	for i := 0; i < 2; i++ {
		defer func(n int) { fmt.Println("literal", n) }(i)
	}
}
