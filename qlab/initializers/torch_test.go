package initializers

import (
	"encoding/json"
	"os"
	"testing"
)

// TestFansTorch compares FansFor(..., PyTorchFans) with PyTorch 1.13's
// _calculate_fan_in_and_fan_out on the weights of real torch modules
// (testdata/gen_torch_fans.py). For dense and conv weights Keras's rule is
// the same, so Fans must agree too; for depthwise it must not (Keras counts
// the input channels in fanIn).
func TestFansTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/torch_fans.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []struct {
			Name       string
			Layout     string
			Multiplier int
			Shape      []int
			FanIn      int `json:"fan_in"`
			FanOut     int `json:"fan_out"`
		}
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) == 0 {
		t.Fatal("testdata/torch_fans.json has no cases")
	}
	layouts := map[string]Layout{"dense": Dense, "conv": Conv, "depthwise": Depthwise}
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			l, ok := layouts[c.Layout]
			if !ok {
				t.Fatalf("unknown layout %q", c.Layout)
			}
			if l == Depthwise {
				l = DepthwiseMultiplier(c.Multiplier)
			}
			in, out, err := FansFor(c.Shape, l, PyTorchFans)
			if err != nil || in != c.FanIn || out != c.FanOut {
				t.Errorf("FansFor(%v, %v, pytorch) = %d, %d, %v; PyTorch says %d, %d", c.Shape, l, in, out, err, c.FanIn, c.FanOut)
			}
			kin, kout := Fans(c.Shape, l)
			same := kin == c.FanIn && kout == c.FanOut
			if want := l.Kind() != Depthwise; same != want {
				t.Errorf("Keras Fans(%v, %v) = %d, %d; PyTorch %d, %d; agreement %v, want %v", c.Shape, l, kin, kout, c.FanIn, c.FanOut, same, want)
			}
		})
	}
}
