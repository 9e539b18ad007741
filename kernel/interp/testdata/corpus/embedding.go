package main

import "fmt"

type Animal struct{ Name string }

func (a Animal) Speak() string { return a.Name + " makes a sound" }

type Dog struct {
	Animal
	Breed string
}

func (d Dog) Speak() string { return d.Name + " barks" }

type Cat struct{ Animal }

func main() {
	d := Dog{Animal{"Rex"}, "lab"}
	c := Cat{Animal{"Tom"}}
	fmt.Println(d.Speak())
	fmt.Println(c.Speak())
	fmt.Println(d.Animal.Speak())
}
