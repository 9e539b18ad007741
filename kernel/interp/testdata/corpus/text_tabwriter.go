package main

import (
	"fmt"
	"os"
	"text/tabwriter"
)

func main() {
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 1, ' ', 0)
	fmt.Fprintln(w, "name\tacc\tloss")
	fmt.Fprintln(w, "vgg\t0.91\t0.30")
	fmt.Fprintln(w, "mobilenet\t0.88\t0.41")
	w.Flush()
}
