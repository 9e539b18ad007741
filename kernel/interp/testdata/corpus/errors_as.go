package main

import (
	"errors"
	"fmt"
)

type MyErr struct{ Code int }

func (e *MyErr) Error() string { return fmt.Sprintf("code %d", e.Code) }

func run() error { return fmt.Errorf("wrapped: %w", &MyErr{404}) }

func main() {
	err := run()
	var me *MyErr
	if errors.As(err, &me) {
		fmt.Println("got", me.Code)
	}
	fmt.Println(err)
}
