package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

func main() {
	dec := json.NewDecoder(strings.NewReader(`{"a":1} {"a":2} {"a":3}`))
	total := 0
	for dec.More() {
		var v struct{ A int }
		if err := dec.Decode(&v); err != nil {
			fmt.Println(err)
			return
		}
		total += v.A
	}
	fmt.Println(total)
	enc := json.NewEncoder(os.Stdout)
	enc.Encode([]string{"x", "y"})
}
