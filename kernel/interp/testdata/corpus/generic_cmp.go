package main

import (
	"cmp"
	"fmt"
	"slices"
)

type Person struct {
	Name string
	Age  int
}

func main() {
	people := []Person{{"Alice", 30}, {"Bob", 25}, {"Carol", 35}}
	slices.SortFunc(people, func(a, b Person) int { return cmp.Compare(a.Age, b.Age) })
	for _, p := range people {
		fmt.Println(p.Name, p.Age)
	}
	fmt.Println(cmp.Compare(1, 2), cmp.Compare("b", "a"))
}
