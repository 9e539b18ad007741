package main

import (
	"fmt"
	"math/rand"
)

func main() {
	r := rand.New(rand.NewSource(42))
	for i := 0; i < 3; i++ {
		fmt.Println(r.Intn(100))
	}
	fmt.Printf("%.6f\n", r.Float64())
	p := r.Perm(5)
	fmt.Println(p)
}
