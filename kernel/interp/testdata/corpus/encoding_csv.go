package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"strings"
)

func main() {
	r := csv.NewReader(strings.NewReader("a,b,c\n1,\"x,y\",3\n"))
	recs, err := r.ReadAll()
	fmt.Println(len(recs), err)
	fmt.Println(recs[1][1])
	w := csv.NewWriter(os.Stdout)
	w.Write([]string{"name", "with,comma"})
	w.Flush()
}
