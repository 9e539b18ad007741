package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

type NotFoundError struct {
	Key  string
	Code int
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s not found (%d)", e.Key, e.Code) }

type TimeoutError struct{ Op string }

func (e *TimeoutError) Error() string { return e.Op + ": timeout" }
func (e *TimeoutError) Timeout() bool { return true }

func find(key string) error {
	if key == "" {
		return nil
	}
	return fmt.Errorf("find %q: %w", key, &NotFoundError{key, 404})
}

func main() {
	err := find("weights")
	var nf *NotFoundError
	if errors.As(err, &nf) {
		fmt.Println("as:", nf.Key, nf.Code)
	}
	fmt.Println(err)
	fmt.Println(errors.As(find(""), &nf), errors.As(errors.New("other"), &nf))

	joined := errors.Join(errors.New("first"), fmt.Errorf("second: %w", &TimeoutError{"read"}))
	var te *TimeoutError
	fmt.Println(errors.As(joined, &te), te.Op)
	fmt.Println(errors.Is(joined, os.ErrNotExist), joined)

	var target error
	fmt.Println(errors.As(fmt.Errorf("wrap: %w", &TimeoutError{"write"}), &target), target)

	if e, ok := errors.AsType[*NotFoundError](fmt.Errorf("again: %w", err)); ok {
		fmt.Println("astype:", e.Key)
	}
	_, ok := errors.AsType[*TimeoutError](err)
	fmt.Println(ok)
	_, ferr := os.ReadFile("/nonexistent/corpus/file")
	if pe, ok := errors.AsType[*fs.PathError](ferr); ok {
		fmt.Println(pe.Op, errors.Is(pe, fs.ErrNotExist))
	}
}
