package main

import (
	"bufio"
	"fmt"
	"strings"
)

func main() {
	sc := bufio.NewScanner(strings.NewReader("one two\nthree\nfour five six\n"))
	lines := 0
	for sc.Scan() {
		lines++
		fmt.Println(lines, sc.Text())
	}
	ws := bufio.NewScanner(strings.NewReader("a bb ccc"))
	ws.Split(bufio.ScanWords)
	n := 0
	for ws.Scan() {
		n += len(ws.Text())
	}
	fmt.Println(n)
}
