package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
)

type Inner struct {
	Value int    `json:"value"`
	note  string `json:"note"`
}

type Run struct {
	ID     string `json:"id" xml:"id,attr"`
	Epochs int    `json:"epochs,omitempty" xml:"epochs"`
	secret string `json:"secret" xml:"secret"`
	cache  []int
	Inner  Inner `json:"inner" xml:"-"`
}

func main() {
	r := Run{ID: "r1", Epochs: 3, secret: "s", cache: []int{1}, Inner: Inner{7, "n"}}
	b, err := json.Marshal(r)
	fmt.Println(string(b), err)

	var back Run
	back.secret = "kept"
	err = json.Unmarshal([]byte(`{"id":"r2","secret":"leak","Xsecret":"x","cache":[9],"inner":{"value":8,"note":"z"}}`), &back)
	fmt.Println(back.ID, back.secret, back.cache == nil, back.Inner.Value, back.Inner.note == "", err)

	type point struct {
		XMLName xml.Name `xml:"point"`
		X       int      `xml:"x,attr"`
		label   string   `xml:"label"`
	}
	x, err := xml.Marshal(point{X: 1, label: "p"})
	fmt.Println(string(x), err)

	anon := struct {
		Name  string
		count int
	}{"a", 2}
	b, _ = json.Marshal(anon)
	fmt.Println(string(b))
}
