package main

import (
	"bytes"
	"fmt"
)

func main() {
	var buf bytes.Buffer
	buf.WriteString("hello ")
	buf.Write([]byte("world"))
	fmt.Println(buf.String(), buf.Len())
	fmt.Println(bytes.Contains([]byte("seafood"), []byte("foo")))
	fmt.Println(bytes.Equal([]byte("a"), []byte("a")))
	fields := bytes.Fields([]byte(" a b c "))
	fmt.Println(len(fields), string(bytes.ToUpper([]byte("x"))))
	fmt.Println(string(bytes.TrimSpace([]byte("  y  "))))
}
