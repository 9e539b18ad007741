package main

import (
	"fmt"
	"time"
)

func main() {
	a := make(chan int, 1)
	b := make(chan int, 1)
	a <- 1
	select {
	case v := <-a:
		fmt.Println("a", v)
	case v := <-b:
		fmt.Println("b", v)
	}
	select {
	case v := <-b:
		fmt.Println("b", v)
	default:
		fmt.Println("none ready")
	}
	done := make(chan struct{})
	go func() {
		time.Sleep(10 * time.Millisecond)
		close(done)
	}()
	select {
	case <-done:
		fmt.Println("done")
	case <-time.After(5 * time.Second):
		fmt.Println("timeout")
	}
}
