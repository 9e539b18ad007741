package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

func main() {
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(w, "buffered line")
	w.WriteString("second\n")
	w.Flush()
	r := bufio.NewReader(strings.NewReader("first line\nrest"))
	line, err := r.ReadString('\n')
	fmt.Printf("%q %v\n", line, err)
	rest, err := r.ReadString('\n')
	fmt.Printf("%q %v\n", rest, err)
}
