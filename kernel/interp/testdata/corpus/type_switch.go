package main

import "fmt"

func describe(i interface{}) string {
	switch v := i.(type) {
	case int:
		return fmt.Sprintf("int %d", v)
	case string:
		return fmt.Sprintf("string %q", v)
	case []int:
		return fmt.Sprintf("slice of %d", len(v))
	case nil:
		return "nil"
	default:
		return fmt.Sprintf("other %T", v)
	}
}

func main() {
	for _, x := range []interface{}{1, "a", []int{1, 2}, nil, 2.5} {
		fmt.Println(describe(x))
	}
}
