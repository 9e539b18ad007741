package main

import (
	"encoding/json"
	"fmt"
)

type Config struct {
	Name    string   `json:"name"`
	Layers  []int    `json:"layers"`
	LR      float64  `json:"lr,omitempty"`
	Tags    []string `json:"tags,omitempty"`
	private int
}

func main() {
	c := Config{Name: "vgg", Layers: []int{32, 64}, LR: 0.01}
	b, err := json.Marshal(c)
	fmt.Println(string(b), err)
	b, _ = json.MarshalIndent(map[string]int{"b": 2, "a": 1}, "", "  ")
	fmt.Println(string(b))
}
