package main

import "fmt"

//qlab:cell
type Base struct {
	ID  int
	Tag string
}

func (b Base) Label() string { return fmt.Sprintf("#%d[%s]", b.ID, b.Tag) }

//qlab:cell
type Item struct {
	Base
	Name string
}

func newItem(id int, name string) Item { return Item{Base: Base{ID: id}, Name: name} }

func (it Item) Title() string { return it.Label() + " " + it.Name }

//qlab:cell
func main() {
	it := newItem(7, "conv1")
	fmt.Println(it.Title(), it.ID)
	fmt.Printf("%+v\n", it)
}
