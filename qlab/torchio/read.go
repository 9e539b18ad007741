package torchio

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
	"github.com/nlpodyssey/safetensors"
)

// maxFileSize bounds what ReadFile reads into memory (4 GiB).
const maxFileSize = 4 << 30

// ReadFile reads a state_dict from path: a torch.save file (the zip format
// PyTorch writes since 1.6) or a safetensors file, told apart by content,
// not by name. A torch.save file may also hold a training checkpoint dict
// with the state_dict under "state_dict", "model_state_dict" or "model".
func ReadFile(path string) (*StateDict, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("torchio: %w", err)
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("%w: %s is %d bytes; the limit is %d", ErrFormat, path, st.Size(), int64(maxFileSize))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("torchio: %w", err)
	}
	sd, err := Read(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sd, nil
}

// Read parses a state_dict held in memory; see ReadFile.
func Read(b []byte) (*StateDict, error) {
	switch {
	case len(b) >= 4 && string(b[:4]) == "PK\x03\x04":
		return ReadTorch(b)
	case looksSafetensors(b):
		return ReadSafetensors(b)
	case len(b) >= 2 && b[0] == 0x80:
		return nil, fmt.Errorf("%w: a legacy (pre-1.6, non-zip) torch.save file; re-save it with a current PyTorch", ErrFormat)
	}
	return nil, fmt.Errorf("%w: neither a torch.save zip archive nor a safetensors file (%d bytes)", ErrFormat, len(b))
}

func looksSafetensors(b []byte) bool {
	if len(b) < 10 {
		return false
	}
	n := binary.LittleEndian.Uint64(b[:8])
	return n >= 2 && n <= uint64(len(b)-8) && b[8] == '{'
}

var stDTypes = map[safetensors.DType]DType{
	safetensors.F32: Float32, safetensors.F64: Float64, safetensors.F16: Float16, safetensors.BF16: BFloat16,
	safetensors.I64: Int64, safetensors.I32: Int32, safetensors.I16: Int16, safetensors.I8: Int8,
	safetensors.U8: Uint8, safetensors.BOOL: Bool,
}

// ReadSafetensors parses a safetensors file (github.com/nlpodyssey/safetensors
// validates the header and offsets).
func ReadSafetensors(b []byte) (sd *StateDict, err error) {
	defer recoverFormat("safetensors", &err)
	st, err := safetensors.Deserialize(b)
	if err != nil {
		return nil, fmt.Errorf("%w: safetensors: %v", ErrFormat, err)
	}
	sd = NewStateDict()
	if _, md, err := safetensors.ReadMetadata(b); err == nil {
		sd.metadata = md.Metadata()
	}
	// Names() follows the header's data order; keep it.
	for _, name := range st.Names() {
		v, _ := st.Tensor(name)
		dt, ok := stDTypes[v.DType()]
		if !ok {
			return nil, fmt.Errorf("%w: tensor %q has unsupported dtype %s", ErrFormat, name, v.DType())
		}
		t := &Tensor{Name: name, DType: dt}
		for _, d := range v.Shape() {
			if d > math.MaxInt32 {
				return nil, fmt.Errorf("%w: tensor %q: shape %v", ErrFormat, name, v.Shape())
			}
			t.Shape = append(t.Shape, int(d))
		}
		if err := decodeLE(t, v.Data()); err != nil {
			return nil, err
		}
		if err := sd.Add(t); err != nil {
			return nil, err
		}
	}
	return sd, nil
}

// decodeLE fills t's values from little-endian bytes of t.DType.
func decodeLE(t *Tensor, b []byte) error {
	n := t.Len()
	size := map[DType]int{Float32: 4, Float64: 8, Float16: 2, BFloat16: 2, Int64: 8, Int32: 4, Int16: 2, Int8: 1, Uint8: 1, Bool: 1}[t.DType]
	if len(b) != n*size {
		return fmt.Errorf("%w: tensor %q of shape %v and dtype %s has %d bytes; want %d", ErrFormat, t.Name, t.Shape, t.DType, len(b), n*size)
	}
	le := binary.LittleEndian
	if t.DType.IsFloat() {
		t.Floats = make([]float32, n)
	} else {
		t.Ints = make([]int64, n)
	}
	for i := 0; i < n; i++ {
		p := b[i*size:]
		switch t.DType {
		case Float32:
			t.Floats[i] = math.Float32frombits(le.Uint32(p))
		case Float64:
			t.Floats[i] = float32(math.Float64frombits(le.Uint64(p)))
		case Float16:
			t.Floats[i] = math.Float32frombits(pytorch.FloatBits16to32(le.Uint16(p)))
		case BFloat16:
			t.Floats[i] = math.Float32frombits(uint32(le.Uint16(p)) << 16)
		case Int64:
			t.Ints[i] = int64(le.Uint64(p))
		case Int32:
			t.Ints[i] = int64(int32(le.Uint32(p)))
		case Int16:
			t.Ints[i] = int64(int16(le.Uint16(p)))
		case Int8:
			t.Ints[i] = int64(int8(p[0]))
		case Uint8, Bool:
			t.Ints[i] = int64(p[0])
		}
	}
	return nil
}

// storage classes torch.save names, with their element type and width.
var torchStorages = map[string]struct {
	dtype DType
	size  int
}{
	"FloatStorage": {Float32, 4}, "DoubleStorage": {Float64, 8}, "HalfStorage": {Float16, 2},
	"BFloat16Storage": {BFloat16, 2}, "LongStorage": {Int64, 8}, "IntStorage": {Int32, 4},
	"ShortStorage": {Int16, 2}, "CharStorage": {Int8, 1}, "ByteStorage": {Uint8, 1}, "BoolStorage": {Bool, 1},
}

// storageClass is what the unpickler returns for torch.<X>Storage.
type storageClass struct{ name string }

// storage is one loaded storage: its raw little-endian bytes.
type storage struct {
	dtype DType
	size  int
	raw   []byte
}

// rawTensor is what torch._utils._rebuild_tensor_v2 rebuilds.
type rawTensor struct {
	st     *storage
	offset int
	shape  []int
	stride []int
}

type rebuildTensor struct{}

func (rebuildTensor) Call(args ...interface{}) (interface{}, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d arguments", len(args))
	}
	st, ok1 := args[0].(*storage)
	off, ok2 := args[1].(int)
	size, ok3 := args[2].(*types.Tuple)
	stride, ok4 := args[3].(*types.Tuple)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: unexpected arguments %T %T %T %T", args[0], args[1], args[2], args[3])
	}
	t := &rawTensor{st: st, offset: off}
	var err error
	if t.shape, err = ints(size); err != nil {
		return nil, err
	}
	if t.stride, err = ints(stride); err != nil {
		return nil, err
	}
	return t, nil
}

// rebuildParameter is torch._utils._rebuild_parameter: a Parameter is its
// data tensor.
type rebuildParameter struct{}

func (rebuildParameter) Call(args ...interface{}) (interface{}, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("_rebuild_parameter: no arguments")
	}
	if _, ok := args[0].(*rawTensor); !ok {
		return nil, fmt.Errorf("_rebuild_parameter: data is %T", args[0])
	}
	return args[0], nil
}

func ints(t *types.Tuple) ([]int, error) {
	out := make([]int, t.Len())
	for i := range out {
		v, ok := t.Get(i).(int)
		if !ok {
			return nil, fmt.Errorf("tuple of ints expected, element %d is %T", i, t.Get(i))
		}
		out[i] = v
	}
	return out, nil
}

// ReadTorch parses a torch.save zip archive: data.pkl is unpickled by
// github.com/nlpodyssey/gopickle's unpickler, the storages are read from
// the archive's data/ records, checked against the sizes the pickle
// declares before anything is allocated.
func ReadTorch(b []byte) (sd *StateDict, err error) {
	defer recoverFormat("torch.save", &err)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%w: torch.save zip archive: %v", ErrFormat, err)
	}
	var prefix string
	records := map[string]*zip.File{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/data.pkl") || f.Name == "data.pkl" {
			prefix = strings.TrimSuffix(f.Name, "data.pkl")
		}
		records[f.Name] = f
	}
	pkl := records[prefix+"data.pkl"]
	if pkl == nil {
		return nil, fmt.Errorf("%w: zip archive without data.pkl: not a torch.save file", ErrFormat)
	}
	if records[prefix+"constants.pkl"] != nil {
		return nil, fmt.Errorf("%w: a TorchScript archive (torch.jit.save); save model.state_dict() with torch.save instead", ErrFormat)
	}
	r, err := pkl.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: data.pkl: %v", ErrFormat, err)
	}
	defer r.Close()
	pb, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: data.pkl: %v", ErrFormat, err)
	}
	loaded := map[string]*storage{}
	u := pickle.NewUnpickler(bytes.NewReader(pb))
	u.FindClass = func(module, name string) (interface{}, error) {
		switch {
		case module == "torch._utils" && name == "_rebuild_tensor_v2":
			return rebuildTensor{}, nil
		case module == "torch._utils" && name == "_rebuild_parameter":
			return rebuildParameter{}, nil
		case module == "torch" && torchStorages[name].size > 0:
			return &storageClass{name}, nil
		}
		return nil, fmt.Errorf("data.pkl refers to %s.%s; only state_dicts of tensors are read (save model.state_dict(), not the model)", module, name)
	}
	u.PersistentLoad = func(id interface{}) (interface{}, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() < 5 {
			return nil, fmt.Errorf("persistent id %v", id)
		}
		kind, _ := t.Get(0).(string)
		cls, ok1 := t.Get(1).(*storageClass)
		key, ok2 := t.Get(2).(string)
		numel, ok3 := t.Get(4).(int)
		if kind != "storage" || !ok1 || !ok2 || !ok3 || numel < 0 {
			return nil, fmt.Errorf("persistent id %v is not a storage", id)
		}
		if s := loaded[key]; s != nil {
			return s, nil
		}
		info := torchStorages[cls.name]
		f := records[prefix+"data/"+key]
		if f == nil {
			return nil, fmt.Errorf("storage %q: no record data/%s in the archive", key, key)
		}
		want := uint64(numel) * uint64(info.size)
		if f.UncompressedSize64 != want {
			return nil, fmt.Errorf("storage %q: record data/%s has %d bytes; %d %s values need %d", key, key, f.UncompressedSize64, numel, info.dtype, want)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("storage %q: %v", key, err)
		}
		defer rc.Close()
		raw := make([]byte, want)
		if _, err := io.ReadFull(rc, raw); err != nil {
			return nil, fmt.Errorf("storage %q: %v", key, err)
		}
		s := &storage{dtype: info.dtype, size: numel, raw: raw}
		loaded[key] = s
		return s, nil
	}
	obj, err := u.Load()
	if err != nil {
		return nil, fmt.Errorf("%w: data.pkl: %v", ErrFormat, err)
	}
	return fromPickle(obj)
}

// fromPickle turns the unpickled object into a StateDict.
func fromPickle(obj interface{}) (*StateDict, error) {
	entries, err := dictEntries(obj)
	if err != nil {
		return nil, err
	}
	allTensors := true
	for _, e := range entries {
		if _, ok := e.v.(*rawTensor); !ok {
			allTensors = false
		}
	}
	if !allTensors {
		// A training checkpoint: {"state_dict": {...}, "epoch": ...}.
		for _, key := range []string{"state_dict", "model_state_dict", "model"} {
			for _, e := range entries {
				if e.k == key {
					if _, err := dictEntries(e.v); err == nil {
						return fromPickle(e.v)
					}
				}
			}
		}
		for _, e := range entries {
			if _, ok := e.v.(*rawTensor); !ok {
				return nil, fmt.Errorf("%w: entry %q is a %s, not a tensor, and there is no state_dict entry", ErrFormat, e.k, pyType(e.v))
			}
		}
	}
	sd := NewStateDict()
	for _, e := range entries {
		t, err := e.v.(*rawTensor).materialize(e.k)
		if err != nil {
			return nil, err
		}
		if err := sd.Add(t); err != nil {
			return nil, err
		}
	}
	return sd, nil
}

type entry struct {
	k string
	v interface{}
}

func dictEntries(obj interface{}) ([]entry, error) {
	var out []entry
	switch d := obj.(type) {
	case *types.OrderedDict:
		for el := d.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			k, ok := e.Key.(string)
			if !ok {
				return nil, fmt.Errorf("%w: state_dict key %v is not a string", ErrFormat, e.Key)
			}
			out = append(out, entry{k, e.Value})
		}
	case *types.Dict:
		for _, e := range *d {
			k, ok := e.Key.(string)
			if !ok {
				return nil, fmt.Errorf("%w: state_dict key %v is not a string", ErrFormat, e.Key)
			}
			out = append(out, entry{k, e.Value})
		}
	default:
		return nil, fmt.Errorf("%w: the file holds a %s, not a state_dict (a dict of tensors)", ErrFormat, pyType(obj))
	}
	return out, nil
}

func pyType(v interface{}) string {
	switch v.(type) {
	case *rawTensor:
		return "tensor"
	case *types.OrderedDict, *types.Dict:
		return "dict"
	case int, int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case nil:
		return "None"
	}
	return fmt.Sprintf("%T", v)
}

// materialize gathers a possibly strided view of its storage into a
// contiguous tensor, checking every index against the storage.
func (r *rawTensor) materialize(name string) (*Tensor, error) {
	if len(r.shape) != len(r.stride) {
		return nil, fmt.Errorf("%w: tensor %q: size %v and stride %v differ in length", ErrFormat, name, r.shape, r.stride)
	}
	t := &Tensor{Name: name, DType: r.st.dtype, Shape: append([]int{}, r.shape...)}
	n := 1
	lo, hi := r.offset, r.offset
	for i, d := range r.shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return nil, fmt.Errorf("%w: tensor %q: size %v", ErrFormat, name, r.shape)
		}
		n *= d
		if d > 0 {
			if s := r.stride[i]; s >= 0 {
				hi += (d - 1) * s
			} else {
				lo += (d - 1) * s
			}
		}
	}
	if n > r.st.size {
		// Only an expanded (stride 0) or overlapping view has more
		// elements than its storage; a state_dict never holds one, and a
		// corrupt file could make it ask for any amount of memory.
		return nil, fmt.Errorf("%w: tensor %q: size %v has %d elements; its storage holds %d", ErrFormat, name, r.shape, n, r.st.size)
	}
	if n > 0 && (lo < 0 || hi >= r.st.size) {
		return nil, fmt.Errorf("%w: tensor %q: size %v, stride %v and offset %d reach outside its storage of %d values", ErrFormat, name, r.shape, r.stride, r.offset, r.st.size)
	}
	size := len(r.st.raw) / max(r.st.size, 1)
	buf := make([]byte, 0, n*size)
	idx := make([]int, len(r.shape))
	for k := 0; k < n; k++ {
		off := r.offset
		for i, v := range idx {
			off += v * r.stride[i]
		}
		buf = append(buf, r.st.raw[off*size:(off+1)*size]...)
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < r.shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	if err := decodeLE(t, buf); err != nil {
		return nil, err
	}
	return t, nil
}

// recoverFormat turns a panic inside a third-party parser into an error:
// a corrupt file must never take the caller down.
func recoverFormat(what string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %s: parser failed: %v", ErrFormat, what, r)
	}
}
