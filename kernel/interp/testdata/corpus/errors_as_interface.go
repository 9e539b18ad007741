package main

import (
	"errors"
	"fmt"
)

type Temporary interface{ Temporary() bool }

type netErr struct{ op string }

func (e *netErr) Error() string   { return e.op + " failed" }
func (e *netErr) Temporary() bool { return true }

func main() {
	var t Temporary
	fmt.Println(errors.As(fmt.Errorf("w: %w", &netErr{"dial"}), &t))
	if t != nil {
		fmt.Println(t.Temporary())
	}
}
