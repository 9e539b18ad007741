package main

import "fmt"

func main() {
	arr := [3]string{"x", "y", "z"}
	for i := range arr {
		fmt.Print(i)
	}
	fmt.Println()
	for i, c := range "go!" {
		fmt.Print(i, string(c), " ")
	}
	fmt.Println()
	ch := make(chan int, 3)
	ch <- 1
	ch <- 2
	close(ch)
	for v := range ch {
		fmt.Print(v)
	}
	fmt.Println()
}
