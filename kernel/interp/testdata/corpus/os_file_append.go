package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

func main() {
	dir, _ := os.MkdirTemp("", "corpus")
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "log.txt")
	for i := 0; i < 3; i++ {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Fprintf(f, "line %d\n", i)
		f.Close()
	}
	f, _ := os.Open(p)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fmt.Println(sc.Text())
	}
	f.Close()
	os.WriteFile(filepath.Join(dir, "b.txt"), nil, 0o644)
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	fmt.Println(names)
}
