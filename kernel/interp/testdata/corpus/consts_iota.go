package main

import "fmt"

type Size uint

const (
	_       = iota
	KB Size = 1 << (10 * iota)
	MB
	GB
)

const big = 1 << 100

func main() {
	fmt.Println(KB, MB, GB)
	fmt.Println(big >> 98)
	const typed float32 = 1.5
	fmt.Printf("%T %v\n", typed, typed)
}
