package main

import "fmt"

//qlab:cell
type Config struct {
	LR       float64
	Epochs   int
	Momentum float64
}

//qlab:cell
func (c Config) Describe() string { return fmt.Sprintf("%+v", c) }

//qlab:cell
func defaults() Config { return Config{LR: 0.1, Epochs: 3} }

func tuned() Config {
	c := defaults()
	c.Epochs *= 2
	return c
}

//qlab:cell
func main() {
	c := tuned()
	fmt.Println(c.Describe(), c == tuned())
	cs := map[string]Config{"a": c}
	fmt.Printf("%v %d\n", cs["a"], len(cs))
}
