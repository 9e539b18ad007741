package main

import "fmt"

func main() {
	fmt.Println(min(3, 1, 2), max(3, 1, 2))
	a, b := 2.5, -1.0
	fmt.Println(min(a, b), max(a, b))
	fmt.Println(min("pear", "apple"), max("pear", "apple"))
	x := 7
	fmt.Println(max(x, 10), min(x, 10))
}
