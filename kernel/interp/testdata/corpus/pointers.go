package main

import "fmt"

type Node struct {
	Val  int
	Next *Node
}

func push(head *Node, v int) *Node { return &Node{v, head} }

func main() {
	var head *Node
	for i := range 4 {
		head = push(head, i)
	}
	for n := head; n != nil; n = n.Next {
		fmt.Print(n.Val, " ")
	}
	fmt.Println()
	x := 5
	p := &x
	*p = 7
	fmt.Println(x, p != nil)
	q := new(int)
	fmt.Println(*q)
}
