package main

import (
	"errors"
	"fmt"
)

type Shape interface{ Area() float64 }

type Circle struct{ R float64 }
type Rect struct{ W, H float64 }

func (c Circle) Area() float64 { return 3 * c.R * c.R }
func (r *Rect) Area() float64  { return r.W * r.H }

type ParseError struct{ Line int }

func (e *ParseError) Error() string { return fmt.Sprint("parse error on line ", e.Line) }

func kind(v any) string {
	switch v.(type) {
	case Circle:
		return "circle"
	case *Rect:
		return "rect"
	case Shape:
		return "other shape"
	case nil:
		return "nil"
	}
	return "unknown"
}

func describe(s Shape) string {
	switch x := s.(type) {
	case Circle:
		return fmt.Sprintf("circle r=%.0f", x.R)
	case *Rect:
		return fmt.Sprintf("rect %.0fx%.0f", x.W, x.H)
	default:
		return fmt.Sprintf("shape %.1f", x.Area())
	}
}

func classify(err error) string {
	switch e := err.(type) {
	case nil:
		return "ok"
	case *ParseError:
		return fmt.Sprint("line ", e.Line)
	default:
		return "other: " + e.Error()
	}
}

func main() {
	var s any = Circle{1}
	var sh Shape = Circle{2}
	fmt.Println(kind(s), kind(sh), kind(Circle{3}), kind(&Rect{1, 2}), kind(nil), kind(2.5))
	for _, x := range []Shape{Circle{1}, &Rect{2, 3}} {
		fmt.Println(describe(x))
	}
	for _, v := range []any{Circle{1}, 2.5, 7, "s"} {
		switch w := v.(type) {
		case Circle, *Rect:
			fmt.Printf("shape %v\n", w)
		case int, string:
			fmt.Println("basic", w)
		default:
			fmt.Println("default")
		}
	}
	fmt.Println(classify(nil), classify(&ParseError{4}), classify(errors.New("io")))
	switch n := len("abc"); x := any(Circle{float64(n)}).(type) {
	case Circle:
		fmt.Println("init", x.R)
	}
}
