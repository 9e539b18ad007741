package main

import (
	"os"
	"text/template"
)

type Run struct {
	Name string
	Acc  []float64
}

func main() {
	t := template.Must(template.New("r").Parse("{{.Name}}:{{range $i, $a := .Acc}} {{$i}}={{printf \"%.2f\" $a}}{{end}}\n"))
	t.Execute(os.Stdout, Run{"exp1", []float64{0.5, 0.75}})
}
