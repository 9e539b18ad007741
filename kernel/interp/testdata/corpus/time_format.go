package main

import (
	"fmt"
	"time"
)

func main() {
	t := time.Date(2024, time.March, 15, 14, 30, 0, 0, time.UTC)
	fmt.Println(t.Format("2006-01-02 15:04:05"))
	fmt.Println(t.Format(time.RFC3339))
	fmt.Println(t.Format("Jan 2, 2006 at 3:04pm (MST)"))
	fmt.Println(t.Weekday(), t.YearDay())
	t2 := t.Add(36 * time.Hour)
	fmt.Println(t2.Format(time.DateOnly), t2.Sub(t))
	p, err := time.Parse("2006-01-02", "2023-12-25")
	fmt.Println(p.Year(), p.Month(), p.Day(), err)
	d := 90 * time.Minute
	fmt.Println(d, d.Hours())
	fmt.Println(t.Truncate(time.Hour).Format(time.Kitchen))
}
