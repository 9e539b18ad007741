package main

import "fmt"

type point struct{ X, Y int }

func main() {
	p := point{1, 2}
	fmt.Printf("%v %+v %#v\n", p, p, p)
	fmt.Printf("%T\n", 3.5)
	fmt.Printf("%5d|%-5d|%05d\n", 42, 42, 42)
	fmt.Printf("%.3f %e %g\n", 3.14159, 1234.5678, 0.000012)
	fmt.Printf("%x %X %o %b\n", 255, 255, 8, 5)
	fmt.Printf("%q %s %c %U\n", "hi", []byte("go"), 'G', 'G')
	fmt.Printf("%t %p\n", true, nil)
	fmt.Printf("%8.2f|%-8s|\n", 3.14159, "go")
	s := fmt.Sprintf("%03d-%s", 7, "x")
	fmt.Println(s, len(s))
}
