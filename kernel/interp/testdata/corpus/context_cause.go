package main

import (
	"context"
	"errors"
	"fmt"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("stopped by user"))
	fmt.Println(ctx.Err())
	fmt.Println(context.Cause(ctx))
	ctx2, cancel2 := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx2, func() {})
	cancel2()
	fmt.Println(stop())
}
