package main

import (
	"fmt"
	"sort"
)

type byLen []string

func (b byLen) Len() int           { return len(b) }
func (b byLen) Less(i, j int) bool { return len(b[i]) < len(b[j]) }
func (b byLen) Swap(i, j int)      { b[i], b[j] = b[j], b[i] }

func main() {
	ints := []int{3, 1, 2}
	sort.Ints(ints)
	fmt.Println(ints)
	strs := []string{"banana", "kiwi", "apple"}
	sort.Strings(strs)
	fmt.Println(strs)
	sort.Sort(byLen(strs))
	fmt.Println(strs)
	people := []struct {
		Name string
		Age  int
	}{{"A", 30}, {"B", 20}, {"C", 25}}
	sort.Slice(people, func(i, j int) bool { return people[i].Age < people[j].Age })
	fmt.Println(people)
	fmt.Println(sort.SearchInts([]int{1, 3, 5}, 3))
}
