package main

import "fmt"

func main() {
	s := make([]int, 3, 10)
	fmt.Println(len(s), cap(s), s)
	s = append(s, 4, 5)
	fmt.Println(s[1:4], s[:2], s[3:])
	c := make([]int, 2)
	n := copy(c, s)
	fmt.Println(n, c)
	grid := [][]int{{1, 2}, {3, 4}}
	for _, row := range grid {
		fmt.Println(row)
	}
	arr := [5]int{1, 2, 3}
	fmt.Println(arr, len(arr))
	full := s[1:3:4]
	fmt.Println(len(full), cap(full))
}
