package arch_test

import (
	"reflect"
	"testing"

	"github.com/traefik/yaegi/interp"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
)

// TestInterpreter builds a spec from a notebook-style cell in the yaegi
// interpreter, the way the Jupyter kernel runs cells: composite literals of
// the spec structs, nested slices, an Initializer value, and Build through
// the Spec interface. The symbol table is written out here by hand for the
// few names used (the kernel's generated tables hold all of them).
func TestInterpreter(t *testing.T) {
	i := interp.New(interp.Options{})
	err := i.Use(interp.Exports{
		"github.com/qlab-dev/qlab/qlab/arch/arch": {
			"Build":              reflect.ValueOf(arch.Build),
			"RefNetDWS":          reflect.ValueOf(arch.RefNetDWS),
			"VGGSpec":            reflect.ValueOf((*arch.VGGSpec)(nil)),
			"MobileNetV2Spec":    reflect.ValueOf((*arch.MobileNetV2Spec)(nil)),
			"Bottleneck":         reflect.ValueOf((*arch.Bottleneck)(nil)),
			"Spec":               reflect.ValueOf((*arch.Spec)(nil)),
			"DepthwiseSeparable": reflect.ValueOf(arch.DepthwiseSeparable),
			"BlockKind":          reflect.ValueOf((*arch.BlockKind)(nil)),
		},
		"github.com/qlab-dev/qlab/qlab/initializers/initializers": {
			"HeNormal":    reflect.ValueOf(initializers.HeNormal),
			"Parse":       reflect.ValueOf(initializers.Parse),
			"Initializer": reflect.ValueOf((*initializers.Initializer)(nil)),
		},
		"github.com/qlab-dev/qlab/qlab/nn/nn": {
			"Model": reflect.ValueOf((*nn.Model)(nil)),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	const cell = `
import (
	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/initializers"
)

func params() (int, int, error) {
	s := arch.RefNetDWS()
	s.Init = initializers.HeNormal()
	s.Seed = 3
	m, err := arch.Build(s)
	if err != nil {
		return 0, 0, err
	}
	in, err := initializers.Parse("random_uniform(0.1)")
	if err != nil {
		return 0, 0, err
	}
	v := arch.VGGSpec{Input: []int{1, 28, 28}, Stages: [][]int{{8}, {16}}, Block: arch.DepthwiseSeparable, Init: in}
	m2, err := v.Build()
	if err != nil {
		return 0, 0, err
	}
	var spec arch.Spec = arch.MobileNetV2Spec{Blocks: []arch.Bottleneck{{Expansion: 1, Out: 8}}, HeadWidth: -1}
	m3, err := arch.Build(spec)
	if err != nil {
		return 0, 0, err
	}
	return m.Summary().TotalParams, m2.Summary().TotalParams + 0*m3.Summary().TotalParams, nil
}
`
	if _, err := i.Eval(cell); err != nil {
		t.Fatalf("eval: %v", err)
	}
	v, err := i.Eval("params")
	if err != nil {
		t.Fatal(err)
	}
	f, ok := v.Interface().(func() (int, int, error))
	if !ok {
		t.Fatalf("params is %T", v.Interface())
	}
	a, b, err := f()
	if err != nil {
		t.Fatalf("cell: %v", err)
	}
	// stem 1*8*9+8; block1 dw 8*9+8, pw 8*16+16; fc 16*10+10.
	if a != 20266 || b != 80+80+144+170 {
		t.Errorf("cell built %d and %d params; want 20266 and %d", a, b, 80+80+144+170)
	}
}
