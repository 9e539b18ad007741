package main

import "fmt"

type Color int

const (
	Red Color = iota
	Green
	Blue
)

func (c Color) String() string {
	return [...]string{"Red", "Green", "Blue"}[c]
}

func main() {
	fmt.Println(Red, Blue)
	fmt.Printf("%v %d\n", Green, Green)
	cs := []Color{Blue, Red}
	fmt.Println(cs)
}
