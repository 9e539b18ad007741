package main

import (
	"fmt"
	"sort"
)

//qlab:cell
type Level int

const (
	Low Level = iota
	Mid
	High
)

//qlab:cell
func (l Level) String() string { return [...]string{"low", "mid", "high"}[l] }

//qlab:cell
func names(ls ...Level) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.String())
	}
	sort.Strings(out)
	return out
}

//qlab:cell
func main() {
	fmt.Println(names(High, Low, Mid), Mid.String())
	fmt.Printf("%v %v %d %T\n", High, []Level{Low, Mid}, Mid, Low)
}
