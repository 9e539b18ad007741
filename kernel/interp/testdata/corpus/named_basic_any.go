package main

import "fmt"

type Celsius float64

func (c Celsius) String() string { return fmt.Sprintf("%.1f°C", float64(c)) }

func kind(v any) string {
	switch v.(type) {
	case float64:
		return "float64"
	case Celsius:
		return "Celsius"
	}
	return "other"
}

func main() {
	var t any = Celsius(21.5)
	fmt.Println(kind(t), kind(2.5))
	fmt.Println(t)
	_, isFloat := t.(float64)
	fmt.Println(isFloat)
}
