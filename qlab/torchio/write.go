package torchio

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nlpodyssey/safetensors"
	"github.com/qlab-dev/qlab/qlab/nn"
)

// SaveOptions configure StateDictOf. The zero value writes what the
// reference network's state_dict() holds.
type SaveOptions struct {
	// NumBatchesTracked is written as every BatchNorm2d's
	// num_batches_tracked (qlab does not count batches; PyTorch uses the
	// counter only with momentum=None). Default 0.
	NumBatchesTracked int64
}

// StateDictOf returns m's parameters and BatchNorm buffers as the
// reference network's state_dict, in its order (see Names). Values are
// copied.
func StateDictOf(m *nn.Model, opt SaveOptions) *StateDict {
	sd := NewStateDict()
	for _, r := range Names(m) {
		t := &Tensor{Name: r.Key, Shape: r.Shape}
		if r.Param == "" {
			t.DType, t.Ints = Int64, []int64{opt.NumBatchesTracked}
		} else {
			t.DType, t.Floats = Float32, append([]float32(nil), m.Param(r.Param).Value.Data...)
		}
		if err := sd.Add(t); err != nil {
			panic(err) // Names gives unique keys and consistent shapes
		}
	}
	return sd
}

// Save writes m's state_dict to path: a safetensors file when path ends
// in ".safetensors", else a torch.save archive (".pt", ".pth"). The file
// is written to a temporary name and renamed, so a failed Save leaves no
// partial file.
func Save(m *nn.Model, path string) error {
	sd := StateDictOf(m, SaveOptions{})
	return writeFile(path, func(w io.Writer) error {
		if strings.HasSuffix(path, ".safetensors") {
			return WriteSafetensors(w, sd)
		}
		return WriteTorch(w, sd, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
	})
}

func writeFile(path string, write func(w io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("torchio: %w", err)
	}
	bw := bufio.NewWriter(tmp)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644) // CreateTemp makes it 0600
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("torchio: writing %s: %w", path, err)
	}
	return nil
}

// stView adapts a Tensor to safetensors.View.
type stView struct {
	dt    safetensors.DType
	shape []uint64
	data  []byte
}

func (v stView) DType() safetensors.DType { return v.dt }
func (v stView) Shape() []uint64          { return v.shape }
func (v stView) Data() []byte             { return v.data }
func (v stView) DataLen() uint64          { return uint64(len(v.data)) }

// WriteSafetensors writes sd in the safetensors format
// (github.com/nlpodyssey/safetensors's serializer): float tensors as F32,
// integer ones as I64.
func WriteSafetensors(w io.Writer, sd *StateDict) error {
	views := map[string]stView{}
	for _, t := range sd.tensors {
		v := stView{shape: []uint64{}} // a scalar's shape is [], not null
		for _, d := range t.Shape {
			v.shape = append(v.shape, uint64(d))
		}
		if t.DType.IsFloat() {
			v.dt, v.data = safetensors.F32, f32Bytes(t.Floats)
		} else {
			v.dt, v.data = safetensors.I64, i64Bytes(t.Ints)
		}
		views[t.Name] = v
	}
	if err := safetensors.SerializeToWriter(views, nil, w); err != nil {
		return fmt.Errorf("torchio: safetensors: %w", err)
	}
	return nil
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func i64Bytes(v []int64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return b
}

// WriteTorch writes sd as torch.save(state_dict) does (PyTorch's zip
// format, pickle protocol 2): an OrderedDict of tensors rebuilt by
// torch._utils._rebuild_tensor_v2, one storage record per tensor, float
// tensors as FloatStorage and integer ones as LongStorage, records
// 64-byte aligned. archive names the archive's top directory ("archive"
// if empty). torch.load reads it, also with weights_only=True.
func WriteTorch(w io.Writer, sd *StateDict, archive string) error {
	if archive == "" {
		archive = "archive"
	}
	var pk bytes.Buffer
	p := pickler{&pk}
	p.op(0x80, 2) // PROTO 2
	p.global("collections", "OrderedDict")
	p.op(')', 'R', '(') // EMPTY_TUPLE, REDUCE, MARK
	for i, t := range sd.tensors {
		p.str(t.Name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.op('(') // MARK (args)
		p.op('(') // MARK (persistent id)
		p.str("storage")
		if t.DType.IsFloat() {
			p.global("torch", "FloatStorage")
		} else {
			p.global("torch", "LongStorage")
		}
		p.str(strconv.Itoa(i))
		p.str("cpu")
		p.int(int64(t.Len()))
		p.op('t', 'Q') // TUPLE, BINPERSID
		p.int(0)       // storage offset
		p.ints(t.Shape)
		stride := make([]int, len(t.Shape))
		s := 1
		for j := len(t.Shape) - 1; j >= 0; j-- {
			stride[j] = s
			s *= t.Shape[j]
		}
		p.ints(stride)
		p.op(0x89) // NEWFALSE: requires_grad
		p.global("collections", "OrderedDict")
		p.op(')', 'R') // backward hooks: OrderedDict()
		p.op('t', 'R') // TUPLE, REDUCE
	}
	p.op('u', '.') // SETITEMS, STOP

	cw := &countWriter{w: w}
	zw := zip.NewWriter(cw)
	records := []struct {
		name string
		data []byte
	}{{"data.pkl", pk.Bytes()}}
	for i, t := range sd.tensors {
		var b []byte
		if t.DType.IsFloat() {
			b = f32Bytes(t.Floats)
		} else {
			b = i64Bytes(t.Ints)
		}
		records = append(records, struct {
			name string
			data []byte
		}{"data/" + strconv.Itoa(i), b})
	}
	records = append(records, struct {
		name string
		data []byte
	}{"version", []byte("3\n")})
	for _, r := range records {
		name := archive + "/" + r.name
		// Pad the local header's extra field so the data starts on a
		// 64-byte boundary, as torch.save does.
		const hdr = 30
		pad := (64 - (int(cw.n)+hdr+len(name)+4)%64) % 64
		extra := make([]byte, 4+pad)
		binary.LittleEndian.PutUint16(extra, 0x4246) // "FB", PyTorch's padding id
		binary.LittleEndian.PutUint16(extra[2:], uint16(pad))
		fh := &zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(r.data),
			CompressedSize64: uint64(len(r.data)), UncompressedSize64: uint64(len(r.data)), Extra: extra}
		fw, err := zw.CreateRaw(fh)
		if err != nil {
			return fmt.Errorf("torchio: %w", err)
		}
		if _, err := fw.Write(r.data); err != nil {
			return fmt.Errorf("torchio: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("torchio: %w", err)
	}
	return cw.err
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// pickler writes the few pickle opcodes a state_dict needs.
type pickler struct{ b *bytes.Buffer }

func (p pickler) op(ops ...byte) { p.b.Write(ops) }

func (p pickler) global(module, name string) {
	p.b.WriteByte('c')
	p.b.WriteString(module + "\n" + name + "\n")
}

func (p pickler) str(s string) {
	p.b.WriteByte('X') // BINUNICODE
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
	p.b.Write(n[:])
	p.b.WriteString(s)
}

func (p pickler) int(v int64) {
	switch {
	case v >= 0 && v < 256:
		p.b.Write([]byte{'K', byte(v)}) // BININT1
	case v >= math.MinInt32 && v <= math.MaxInt32:
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(int32(v)))
		p.b.WriteByte('J') // BININT
		p.b.Write(n[:])
	default:
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(v))
		p.b.Write([]byte{0x8a, 8}) // LONG1, 8 bytes two's complement
		p.b.Write(n[:])
	}
}

func (p pickler) ints(v []int) {
	if len(v) == 0 {
		p.op(')')
		return
	}
	p.op('(')
	for _, x := range v {
		p.int(int64(x))
	}
	p.op('t')
}
