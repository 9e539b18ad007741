package quant

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// ManifestFile is the name of the JSON index Export writes.
const ManifestFile = "quant.json"

// ErrCorrupt is returned (wrapped) when an export does not match its
// manifest.
var ErrCorrupt = errors.New("quant: corrupt export")

// ExportParams are one tensor's quantization params in an export. For
// weights and biases, File names the raw tensor (little-endian integers of
// DType, row-major in Shape) relative to the export directory.
type ExportParams struct {
	Scale     []float32 `json:"scale"`
	ZeroPoint []int32   `json:"zero_point"`
	QMin      int32     `json:"qmin"`
	QMax      int32     `json:"qmax"`
	// Axis is the channel axis, -1 per tensor.
	Axis int `json:"axis"`
	// DType is the smallest of int8, uint8, int16, uint16, int32 holding
	// [QMin, QMax].
	DType  string `json:"dtype"`
	Nudged bool   `json:"nudged,omitempty"`
	Shape  []int  `json:"shape,omitempty"`
	File   string `json:"file,omitempty"`
}

// ExportLayer is one layer's entry in the manifest.
type ExportLayer struct {
	Name   string        `json:"name"`
	Kind   string        `json:"kind"`
	Input  string        `json:"input,omitempty"`
	Output *ExportParams `json:"output,omitempty"`
	Weight *ExportParams `json:"weight,omitempty"`
	Bias   *ExportParams `json:"bias,omitempty"`
}

// Manifest is the JSON index of an export.
type Manifest struct {
	Model      string        `json:"model"`
	Mode       string        `json:"mode"`
	InputShape []int         `json:"input_shape"`
	Layers     []ExportLayer `json:"layers"`
}

// dtypeFor returns the storage type name and byte width for [qmin, qmax].
func dtypeFor(qmin, qmax int32) (string, int) {
	switch {
	case qmin >= -128 && qmax <= 127:
		return "int8", 1
	case qmin >= 0 && qmax <= 255:
		return "uint8", 1
	case qmin >= -32768 && qmax <= 32767:
		return "int16", 2
	case qmin >= 0 && qmax <= 65535:
		return "uint16", 2
	}
	return "int32", 4
}

func dtypeWidth(d string) int {
	switch d {
	case "int8", "uint8":
		return 1
	case "int16", "uint16":
		return 2
	case "int32":
		return 4
	}
	return 0
}

func exportParams(q *QParams) *ExportParams {
	if q == nil {
		return nil
	}
	d, _ := dtypeFor(q.QMin, q.QMax)
	return &ExportParams{Scale: q.Scale, ZeroPoint: q.ZeroPoint, QMin: q.QMin, QMax: q.QMax, Axis: q.Axis, DType: d, Nudged: q.Nudged}
}

// fileName turns a parameter name into a file name.
func fileName(param string) string {
	return strings.NewReplacer("/", ".", "\\", ".", " ", "_").Replace(param) + ".bin"
}

// Export writes the manifest (ManifestFile) and every quantized weight and
// bias as raw little-endian integers into dir (created if needed). The
// integers are the codes of the fake-quantized values, so dequantizing them
// gives Net's parameters (exactly; within one float32 rounding for Nudged
// params, whose fake quant adds the nudged minimum instead).
func (q *Model) Export(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("quant: export: %w", err)
	}
	man := Manifest{Model: q.Net.Name(), Mode: q.Options.Mode.String(), InputShape: q.Net.InputShape()}
	for _, lq := range q.Layers {
		el := ExportLayer{Name: lq.Layer, Kind: lq.Kind, Input: lq.Input, Output: exportParams(lq.Output)}
		for _, t := range []struct {
			qp   *QParams
			role string
			dst  **ExportParams
		}{{lq.Weight, "weight", &el.Weight}, {lq.Bias, "bias", &el.Bias}} {
			if t.qp == nil {
				continue
			}
			p := q.Net.Param(lq.Layer + "/" + t.role)
			if p == nil {
				return fmt.Errorf("quant: export: layer %q has no %s", lq.Layer, t.role)
			}
			ep := exportParams(t.qp)
			ep.Shape = append([]int(nil), p.Value.Shape...)
			ep.File = fileName(p.Name)
			if err := writeCodes(filepath.Join(dir, ep.File), t.qp, p.Value, ep.DType); err != nil {
				return fmt.Errorf("quant: export %q: %w", p.Name, err)
			}
			*t.dst = ep
		}
		man.Layers = append(man.Layers, el)
	}
	b, err := json.MarshalIndent(&man, "", " ")
	if err != nil {
		return fmt.Errorf("quant: export: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644); err != nil {
		return fmt.Errorf("quant: export: %w", err)
	}
	return nil
}

func writeCodes(path string, q *QParams, v *tensor.Tensor, dtype string) error {
	qt, err := q.Quantize(v)
	if err != nil {
		return err
	}
	w := dtypeWidth(dtype)
	buf := make([]byte, w*len(qt.Data))
	for i, c := range qt.Data {
		switch w {
		case 1:
			buf[i] = byte(c)
		case 2:
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(c))
		default:
			binary.LittleEndian.PutUint32(buf[4*i:], uint32(c))
		}
	}
	return os.WriteFile(path, buf, 0o644)
}

// ReadManifest reads dir's manifest.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("quant: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, ManifestFile, err)
	}
	return &m, nil
}

// ReadTensor reads the integer codes of an exported weight or bias,
// checking the file size against Shape and DType and every code against
// [QMin, QMax].
func ReadTensor(dir string, p *ExportParams) (*QTensor, error) {
	if p == nil || p.File == "" || filepath.Base(p.File) != p.File {
		return nil, fmt.Errorf("%w: tensor without a plain file name", ErrCorrupt)
	}
	w := dtypeWidth(p.DType)
	if w == 0 {
		return nil, fmt.Errorf("%w: %s: unknown dtype %q", ErrCorrupt, p.File, p.DType)
	}
	n := tensor.Size(p.Shape)
	if n < 0 {
		return nil, fmt.Errorf("%w: %s: shape %v", ErrCorrupt, p.File, p.Shape)
	}
	b, err := os.ReadFile(filepath.Join(dir, p.File))
	if err != nil {
		return nil, fmt.Errorf("quant: %w", err)
	}
	if len(b) != n*w {
		return nil, fmt.Errorf("%w: %s holds %d bytes; shape %v of %s needs %d", ErrCorrupt, p.File, len(b), p.Shape, p.DType, n*w)
	}
	out := &QTensor{Shape: append([]int(nil), p.Shape...), Data: make([]int32, n),
		Params: &QParams{Scale: p.Scale, ZeroPoint: p.ZeroPoint, QMin: p.QMin, QMax: p.QMax, Axis: p.Axis, Nudged: p.Nudged}}
	for i := range out.Data {
		var c int32
		switch p.DType {
		case "int8":
			c = int32(int8(b[i]))
		case "uint8":
			c = int32(b[i])
		case "int16":
			c = int32(int16(binary.LittleEndian.Uint16(b[2*i:])))
		case "uint16":
			c = int32(binary.LittleEndian.Uint16(b[2*i:]))
		default:
			c = int32(binary.LittleEndian.Uint32(b[4*i:]))
		}
		if c < p.QMin || c > p.QMax {
			return nil, fmt.Errorf("%w: %s element %d = %d outside [%d, %d]", ErrCorrupt, p.File, i, c, p.QMin, p.QMax)
		}
		out.Data[i] = c
	}
	if _, _, err := out.Params.check(out.Shape); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, p.File, err)
	}
	return out, nil
}
