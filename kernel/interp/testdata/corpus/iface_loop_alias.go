package main

import "fmt"

type Shape interface{ Name() string }

type Rect struct{ id string }

func (r *Rect) Name() string { return "rect " + r.id }

type Group struct{ members []Shape }

func (g *Group) Add(s Shape) { g.members = append(g.members, s) }

func main() {
	var shapes, vars, conv []Shape
	var g Group
	byID := map[string]Shape{}
	var lits [][]Shape
	for _, id := range []string{"a", "b", "c"} {
		shapes = append(shapes, &Rect{id})
		var s Shape = &Rect{id + "v"}
		vars = append(vars, s)
		t := Shape(&Rect{id + "c"})
		conv = append(conv, t)
		g.Add(&Rect{id + "g"})
		byID[id] = &Rect{id + "m"}
		lits = append(lits, []Shape{&Rect{id + "l"}})
	}
	for i := range shapes {
		fmt.Println(shapes[i].Name(), vars[i].Name(), conv[i].Name(), g.members[i].Name(), lits[i][0].Name())
	}
	fmt.Println(byID["a"].Name(), byID["b"].Name(), byID["c"].Name())
}
