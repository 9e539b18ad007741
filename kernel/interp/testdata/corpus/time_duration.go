package main

import (
	"fmt"
	"time"
)

func main() {
	d, err := time.ParseDuration("1h15m30.5s")
	fmt.Println(d, err)
	fmt.Println(d.Round(time.Minute), d.Truncate(time.Hour))
	fmt.Println(time.Duration(1500) * time.Millisecond)
	a := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	b := time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC)
	fmt.Println(b.Sub(a).Hours()/24, b.After(a), a.Equal(a))
	fmt.Println(a.AddDate(0, 1, 15).Format(time.DateOnly))
}
