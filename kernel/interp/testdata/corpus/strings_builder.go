package main

import (
	"fmt"
	"strings"
)

func main() {
	var b strings.Builder
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&b, "%d;", i)
	}
	b.WriteString("end")
	fmt.Println(b.String(), b.Len())
	r := strings.NewReader("abc")
	buf := make([]byte, 2)
	n, _ := r.Read(buf)
	fmt.Println(n, string(buf[:n]))
}
