package main

import "fmt"

//qlab:cell
type Temp float64

func (t Temp) Fahrenheit() float64 { return float64(t)*9/5 + 32 }

//qlab:cell
func report(ts []Temp) []float64 {
	var out []float64
	for _, t := range ts {
		out = append(out, t.Fahrenheit())
	}
	return out
}

type Reporter struct{ Unit string }

func (r Reporter) Line(t Temp) string { return fmt.Sprintf("%.1f%s", t.Fahrenheit(), r.Unit) }

//qlab:cell
func main() {
	fmt.Println(report([]Temp{0, 100, -40}))
	fmt.Println(Reporter{"F"}.Line(37))
}
