package study

// Check panics with err when err is not nil. In a notebook cell a panic
// stops the cell (and a headless run) with err as its message, which is
// what a notebook wants from a failed call; library code returns errors
// instead and never calls Check.
func Check(err error) {
	if err != nil {
		panic(err)
	}
}
