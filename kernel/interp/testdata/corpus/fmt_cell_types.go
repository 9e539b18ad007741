package main

import (
	"errors"
	"fmt"
	"os"
)

type Color int

const (
	Red Color = iota
	Green
	Blue
)

func (c Color) String() string { return [...]string{"Red", "Green", "Blue"}[c] }

type point struct{ X, Y int }

type Layer struct {
	Name   string
	Units  int
	Color  Color
	Origin *point
	tags   []string
}

type Temp float64

func (t *Temp) String() string { return fmt.Sprintf("%.1f°C", float64(*t)) }

type Money struct{ Cents int64 }

func (m Money) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "$%d.%02d(%c)", m.Cents/100, m.Cents%100, verb)
}

type ID string

func (id ID) GoString() string { return "ID(" + string(id) + ")" }

type NotFound struct{ Key string }

func (e NotFound) Error() string { return "not found: " + e.Key }

type Shape interface{ Area() float64 }

type Rect struct{ W, H float64 }

func (r Rect) Area() float64 { return r.W * r.H }

type Node struct {
	Val  int
	Next *Node
}

func main() {
	p := point{1, 2}
	fmt.Printf("%v|%+v|%#v|%T\n", p, p, p, p)
	fmt.Printf("%v|%+v|%#v|%T\n", &p, &p, &p, &p)
	ps := []point{{1, 2}, {3, 4}}
	fmt.Printf("%v|%#v|%T\n", ps, ps, ps)
	m := map[string]point{"b": {2, 2}, "a": {1, 1}}
	fmt.Printf("%v|%#v\n", m, m)

	cs := []Color{Blue, Red, Green}
	fmt.Println(cs, len(cs))
	fmt.Printf("%v %d %s %q %x|%8v|%-8v|\n", Green, Green, Blue, Red, Blue, Red, Blue)
	fmt.Printf("%#v %T\n", Green, cs)
	byColor := map[Color]int{Blue: 3, Red: 1}
	fmt.Println(byColor)
	fmt.Printf("%[2]v %[1]v\n", Red, Blue)

	l := Layer{"conv", 32, Blue, nil, []string{"a"}}
	fmt.Printf("%v\n%+v\n", l, l)
	fmt.Println(Layer{Name: "dense"})

	t := Temp(21.5)
	fmt.Println(&t, t)
	var nt *Temp
	fmt.Println(nt == nil)

	fmt.Println(Money{1234})
	fmt.Printf("%v %s %d\n", Money{5}, Money{105}, Money{99})

	id := ID("x7")
	fmt.Printf("%v %#v %s\n", id, id, id)

	err := fmt.Errorf("lookup: %w", NotFound{"k"})
	fmt.Println(err, errors.Unwrap(err))
	fmt.Printf("%v|%s|%T\n", NotFound{"z"}, NotFound{"z"}, NotFound{"z"})

	shapes := []Shape{Rect{1, 2}, Rect{3, 4}}
	for _, s := range shapes {
		fmt.Printf("%T %v %.1f\n", s, s, s.Area())
	}
	var s Shape = Rect{2, 2}
	fmt.Println(s)
	var anything any = p
	fmt.Printf("%v %T\n", anything, anything)
	anything = 3.5
	fmt.Printf("%v %T\n", anything, anything)

	n := &Node{1, &Node{2, nil}}
	fmt.Println(n.Val, n.Next.Val, n.Next.Next == nil)

	fmt.Print(Red, Blue, "\n")
	fmt.Print(p, p, "\n")
	str := fmt.Sprint(Green, " ", p)
	fmt.Println(str, len(str))
	fmt.Fprintln(os.Stdout, Blue, []Color{Red})
	b := fmt.Appendf(nil, "%v-%d", Green, Green)
	fmt.Println(string(b))
}
