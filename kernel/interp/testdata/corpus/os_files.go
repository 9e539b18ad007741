package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir, err := os.MkdirTemp("", "corpus")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "data.txt")
	if err := os.WriteFile(p, []byte("hello\nfile\n"), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	b, err := os.ReadFile(p)
	fmt.Printf("%q %v\n", b, err)
	fi, _ := os.Stat(p)
	fmt.Println(fi.Name(), fi.Size(), fi.IsDir())
	_, err = os.Stat(filepath.Join(dir, "missing"))
	fmt.Println(os.IsNotExist(err))
}
