package main

import "fmt"

type Set[T comparable] map[T]struct{}

func (s Set[T]) Add(v T)      { s[v] = struct{}{} }
func (s Set[T]) Has(v T) bool { _, ok := s[v]; return ok }

type IntSet = Set[int]

func main() {
	s := IntSet{}
	s.Add(3)
	s.Add(3)
	s.Add(4)
	fmt.Println(len(s), s.Has(3), s.Has(5))
}
