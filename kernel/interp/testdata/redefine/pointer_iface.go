package main

import "fmt"

//qlab:cell
type Counter struct{ n int }

type Adder interface{ Add(k int) }

func apply(a Adder, ks ...int) {
	for _, k := range ks {
		a.Add(k)
	}
}

//qlab:cell
func (c *Counter) Add(k int) { c.n += 2 * k }

//qlab:cell
func run() int {
	c := &Counter{}
	apply(c, 1, 2, 3)
	var a Adder = c
	a.Add(10)
	return c.n
}

//qlab:cell
func main() { fmt.Println(run()) }
