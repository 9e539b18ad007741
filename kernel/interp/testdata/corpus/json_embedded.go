package main

import (
	"encoding/json"
	"fmt"
)

type Base struct {
	ID   int    `json:"id"`
	Kind string `json:"kind"`
}

type Layer struct {
	Base
	Units int `json:"units"`
}

func main() {
	b, err := json.Marshal(Layer{Base{1, "dense"}, 64})
	fmt.Println(string(b), err)
	var l Layer
	err = json.Unmarshal([]byte(`{"id":2,"kind":"conv","units":32}`), &l)
	fmt.Println(l.ID, l.Kind, l.Units, err)
}
