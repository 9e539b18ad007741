package main

import (
	"errors"
	"fmt"
	"io/fs"
)

type QueryError struct {
	Query string
	Err   error
}

func (e *QueryError) Error() string { return e.Query + ": " + e.Err.Error() }
func (e *QueryError) Unwrap() error { return e.Err }

var ErrBusy = errors.New("busy")

type busy struct{}

func (busy) Error() string        { return "resource busy" }
func (busy) Is(target error) bool { return target == ErrBusy }

func main() {
	err := fmt.Errorf("load: %w", &QueryError{"select", fs.ErrNotExist})
	fmt.Println(err)
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	fmt.Println(errors.Is(fmt.Errorf("x: %w", busy{}), ErrBusy))
	var qe *QueryError
	fmt.Println(errors.As(fmt.Errorf("z: %w", err), &qe), qe.Query)
	fmt.Println(errors.Unwrap(errors.Unwrap(err)) == fs.ErrNotExist)
}
