package torchio

import (
	"archive/zip"
	"bytes"
	"io"
	"math"
	"os"
	"strings"
	"testing"
)

// TestLoadHalfPrecision loads refnet-dws saved by PyTorch in float16
// (torch.save) and bfloat16 (safetensors): every value equals the float32
// original rounded to that type (relative 2^-11 and 2^-8).
func TestLoadHalfPrecision(t *testing.T) {
	ref := build(t, "refnet-dws")
	if err := Load(ref, "testdata/load/refnet-dws.pt"); err != nil {
		t.Fatal(err)
	}
	want := ref.State()
	for _, c := range []struct {
		file  string
		dtype DType
		tol   float64
	}{{"refnet-dws-half.pt", Float16, 1.0 / 2048}, {"refnet-dws-bf16.safetensors", BFloat16, 1.0 / 256}} {
		t.Run(c.file, func(t *testing.T) {
			sd, err := ReadFile("testdata/load/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			if d := sd.Tensor("stem.conv.weight").DType; d != c.dtype {
				t.Errorf("dtype %s; want %s", d, c.dtype)
			}
			m := build(t, "refnet-dws")
			if err := LoadStateDict(m, sd, LoadOptions{}); err != nil {
				t.Fatal(err)
			}
			for name, w := range m.State() {
				for i, v := range w {
					o := float64(want[name][i])
					if math.Abs(float64(v)-o) > c.tol*math.Abs(o)+1e-30 {
						t.Fatalf("%s[%d] = %v; float32 original %v", name, i, v, o)
					}
				}
			}
		})
	}
}

// rewritePickle returns a copy of a torch.save archive with data.pkl
// edited by fn.
func rewritePickle(t *testing.T, b []byte, fn func([]byte) []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f.Name, "data.pkl") {
			data = fn(data)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestLoadGPUSaved reads an archive whose storages are on "cuda:0", as
// torch.save writes a model that lives on a GPU: the bytes are the same,
// and the location is ignored.
func TestLoadGPUSaved(t *testing.T) {
	b, err := os.ReadFile("testdata/load/refnet-dws.pt")
	if err != nil {
		t.Fatal(err)
	}
	cuda := rewritePickle(t, b, func(p []byte) []byte {
		n := bytes.Count(p, []byte("X\x03\x00\x00\x00cpu"))
		if n == 0 {
			t.Fatal("no cpu location in data.pkl")
		}
		return bytes.ReplaceAll(p, []byte("X\x03\x00\x00\x00cpu"), []byte("X\x06\x00\x00\x00cuda:0"))
	})
	want, err := Read(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Read(cuda)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want.Tensors() {
		g := got.Tensor(w.Name)
		if g == nil || len(g.Floats) != len(w.Floats) {
			t.Fatalf("%s missing or resized", w.Name)
		}
		for i := range w.Floats {
			if g.Floats[i] != w.Floats[i] {
				t.Fatalf("%s[%d] = %v; want %v", w.Name, i, g.Floats[i], w.Floats[i])
			}
		}
	}
}

// TestReadRejectsObjects refuses pickles that are not plain state_dicts
// (a whole pickled nn.Module, for instance) without running anything.
func TestReadRejectsObjects(t *testing.T) {
	b, err := os.ReadFile("testdata/load/refnet-dws.pt")
	if err != nil {
		t.Fatal(err)
	}
	mod := rewritePickle(t, b, func(p []byte) []byte {
		return bytes.Replace(p, []byte("ccollections\nOrderedDict\n"), []byte("cos\nsystem\n"), 1)
	})
	_, err = Read(mod)
	if err == nil || !strings.Contains(err.Error(), "os.system") {
		t.Errorf("got %v; want an error naming os.system", err)
	}
}

// TestLoadTrainingCheckpoint reads the state_dict out of a training
// checkpoint dict ({"epoch", "state_dict", "optimizer"}), as training
// scripts commonly save.
func TestLoadTrainingCheckpoint(t *testing.T) {
	want := build(t, "refnet-dws")
	if err := Load(want, "testdata/load/refnet-dws.pt"); err != nil {
		t.Fatal(err)
	}
	got := build(t, "refnet-dws")
	if err := Load(got, "testdata/load/refnet-dws-ckpt.pt"); err != nil {
		t.Fatal(err)
	}
	for name, w := range want.State() {
		for i, v := range got.State()[name] {
			if v != w[i] {
				t.Fatalf("%s[%d] = %v; want %v", name, i, v, w[i])
			}
		}
	}
}
