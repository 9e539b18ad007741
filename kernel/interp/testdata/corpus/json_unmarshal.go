package main

import (
	"encoding/json"
	"fmt"
)

type Item struct {
	ID    int     `json:"id"`
	Price float64 `json:"price"`
	Name  string  `json:"name"`
}

func main() {
	var items []Item
	err := json.Unmarshal([]byte(`[{"id":1,"price":2.5,"name":"a"},{"id":2,"price":10,"name":"b"}]`), &items)
	fmt.Println(err, len(items))
	for _, it := range items {
		fmt.Printf("%d %.2f %s\n", it.ID, it.Price, it.Name)
	}
	var any map[string]interface{}
	json.Unmarshal([]byte(`{"x": 1, "y": [true, null]}`), &any)
	fmt.Println(any["x"], any["y"])
	err = json.Unmarshal([]byte(`{bad`), &any)
	fmt.Println(err != nil)
}
