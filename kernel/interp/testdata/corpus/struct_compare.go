package main

import "fmt"

type Key struct {
	A string
	B int
}

func main() {
	m := map[Key]int{}
	m[Key{"x", 1}] = 10
	m[Key{"x", 1}] += 5
	fmt.Println(m[Key{"x", 1}], len(m))
	fmt.Println(Key{"a", 1} == Key{"a", 1}, [2]int{1, 2} == [2]int{1, 2})
	anon := struct{ X, Y int }{1, 2}
	fmt.Println(anon)
}
