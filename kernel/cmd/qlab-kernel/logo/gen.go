//go:build ignore

// gen draws the kernelspec logos: a Go-blue rounded square with a white
// staircase, the transfer curve of a uniform quantizer. Run it with
// go generate ./kernel/cmd/qlab-kernel/ (the PNGs are committed).
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"os"
)

func main() {
	for _, n := range []int{32, 64} {
		if err := write(n); err != nil {
			log.Fatal(err)
		}
	}
}

func write(n int) error {
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	blue := color.NRGBA{0x00, 0xAD, 0xD8, 0xFF}
	white := color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}
	r := float64(n) / 6 // corner radius
	in := func(x, y float64) bool {
		// Inside the rounded square: distance to the inner rectangle ≤ r.
		cx := min(max(x, r), float64(n)-r)
		cy := min(max(y, r), float64(n)-r)
		return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r
	}
	// Supersample 4x4 per pixel for smooth corners.
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			hits := 0
			for sy := 0; sy < 4; sy++ {
				for sx := 0; sx < 4; sx++ {
					if in(float64(x)+(float64(sx)+0.5)/4, float64(y)+(float64(sy)+0.5)/4) {
						hits++
					}
				}
			}
			c := blue
			c.A = uint8(255 * hits / 16)
			img.SetNRGBA(x, y, c)
		}
	}
	// Four steps rising left to right, each a filled column.
	steps := 4
	margin := n / 5
	w := (n - 2*margin) / steps
	for i := 0; i < steps; i++ {
		top := n - margin - (i+1)*(n-2*margin)/steps
		for y := top; y < n-margin; y++ {
			for x := margin + i*w; x < margin+(i+1)*w-max(1, n/32); x++ {
				img.SetNRGBA(x, y, white)
			}
		}
	}
	f, err := os.Create("logo-" + itoa(n) + "x" + itoa(n) + ".png")
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
