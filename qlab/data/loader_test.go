package data

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// collect runs one epoch and returns copies of all batches.
func collect(t testing.TB, l *Loader, epoch, from int) (imgs [][]float32, labels [][]int) {
	it := l.EpochFrom(epoch, from)
	for it.Next() {
		x, y := it.Batch()
		imgs = append(imgs, slices.Clone(x.Data))
		labels = append(labels, slices.Clone(y))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return
}

func TestLoaderCoversEpoch(t *testing.T) {
	d := seqDataset(103, 2, 3, 3)
	for _, c := range []struct {
		name     string
		l        Loader
		batches  int
		lastSize int
	}{
		{"default", Loader{Data: d}, 2, 39},
		{"shuffle", Loader{Data: d, BatchSize: 10, Shuffle: true, Seed: 3}, 11, 3},
		{"droplast", Loader{Data: d, BatchSize: 10, Shuffle: true, DropLast: true}, 10, 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.l.Batches(); got != c.batches {
				t.Fatalf("Batches got %d; want %d", got, c.batches)
			}
			imgs, labels := collect(t, &c.l, 0, 0)
			if got := len(imgs); got != c.batches {
				t.Fatalf("iterated %d batches; want %d", got, c.batches)
			}
			if got := len(labels[len(labels)-1]); got != c.lastSize {
				t.Errorf("last batch has %d samples; want %d", got, c.lastSize)
			}
			seen := map[int]bool{}
			inOrder := true
			k := 0
			for b := range imgs {
				for i, lbl := range labels[b] {
					id := int(imgs[b][i*18]) / 1000 // pixel 0 encodes the sample
					if seen[id] {
						t.Fatalf("sample %d appears twice", id)
					}
					seen[id] = true
					if lbl != id%10 {
						t.Fatalf("sample %d carries label %d; want %d", id, lbl, id%10)
					}
					if imgs[b][i*18+17] != float32(id*1000+17) {
						t.Fatalf("sample %d pixels mixed up", id)
					}
					inOrder = inOrder && id == k
					k++
				}
			}
			if want := c.batches * 10; !c.l.DropLast && len(seen) != d.Len() || c.l.DropLast && len(seen) != want {
				t.Errorf("saw %d distinct samples", len(seen))
			}
			if inOrder == c.l.Shuffle {
				t.Errorf("in dataset order = %v with Shuffle = %v", inOrder, c.l.Shuffle)
			}
		})
	}
}

func TestLoaderDeterminism(t *testing.T) {
	d := seqDataset(70, 3, 8, 8)
	mk := func(seed uint64) *Loader {
		return &Loader{Data: d, BatchSize: 16, Shuffle: true, Seed: seed, Augment: Augmentation{CropPadding: 2, HorizontalFlip: true}}
	}
	a0, al0 := collect(t, mk(5), 0, 0)
	prev := runtime.GOMAXPROCS(1)
	b0, bl0 := collect(t, mk(5), 0, 0)
	runtime.GOMAXPROCS(prev)
	for i := range a0 {
		if !slices.Equal(a0[i], b0[i]) || !slices.Equal(al0[i], bl0[i]) {
			t.Fatalf("batch %d differs between two runs with the same seed", i)
		}
	}
	a1, _ := collect(t, mk(5), 1, 0)
	if slices.Equal(a0[0], a1[0]) {
		t.Errorf("epochs 0 and 1 give the same first batch")
	}
	c0, _ := collect(t, mk(6), 0, 0)
	if slices.Equal(a0[0], c0[0]) {
		t.Errorf("seeds 5 and 6 give the same first batch")
	}
	// Resuming at batch 2 gives exactly the tail of the full epoch, even
	// with a loader that has already run another epoch.
	l := mk(5)
	collect(t, l, 3, 0)
	tail, tailLabels := collect(t, l, 1, 2)
	full, fullLabels := collect(t, mk(5), 1, 0)
	if len(tail) != len(full)-2 {
		t.Fatalf("resumed epoch has %d batches; want %d", len(tail), len(full)-2)
	}
	for i := range tail {
		if !slices.Equal(tail[i], full[i+2]) || !slices.Equal(tailLabels[i], fullLabels[i+2]) {
			t.Fatalf("resumed batch %d differs from batch %d of the full epoch", i, i+2)
		}
	}
}

// padCropFlip is the textbook augmentation the loader must match: build the
// zero-padded image, cut the crop at (oy, ox), then mirror.
func padCropFlip(src []float32, c, h, w, p, oy, ox int, flip bool) []float32 {
	ph, pw := h+2*p, w+2*p
	padded := make([]float32, c*ph*pw)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				padded[(ch*ph+y+p)*pw+x+p] = src[(ch*h+y)*w+x]
			}
		}
	}
	out := make([]float32, c*h*w)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				sx := x
				if flip {
					sx = w - 1 - x
				}
				out[(ch*h+y)*w+x] = padded[(ch*ph+y+oy)*pw+sx+ox]
			}
		}
	}
	return out
}

func TestShiftFlipMatchesPadCrop(t *testing.T) {
	const c, h, w, p = 2, 5, 4, 3
	src := make([]float32, c*h*w)
	for i := range src {
		src[i] = float32(i + 1)
	}
	dst := make([]float32, len(src))
	for oy := 0; oy <= 2*p; oy++ {
		for ox := 0; ox <= 2*p; ox++ {
			for _, flip := range []bool{false, true} {
				t.Run(fmt.Sprintf("oy=%d,ox=%d,flip=%v", oy, ox, flip), func(t *testing.T) {
					for i := range dst {
						dst[i] = -99 // stale content must be overwritten
					}
					shiftFlip(dst, src, c, h, w, oy-p, ox-p, flip)
					want := padCropFlip(src, c, h, w, p, oy, ox, flip)
					if !slices.Equal(dst, want) {
						t.Fatalf("got %v; want %v", dst, want)
					}
				})
			}
		}
	}
}

func TestAugmentationDistribution(t *testing.T) {
	// Over many samples every crop offset and both flips must occur, with
	// frequencies near uniform (binomial bounds at ~5 sigma).
	d := seqDataset(4000, 1, 1, 1)
	l := &Loader{Data: d, BatchSize: 1000, Augment: Augmentation{CropPadding: 1, HorizontalFlip: true}}
	counts := map[string]int{}
	it := l.Epoch(0)
	for it.Next() {
		x, _ := it.Batch()
		for i, v := range x.Data {
			// A 1x1 image padded by 1: the crop keeps the pixel only at
			// offset (0, 0), which has probability 1/9.
			id := float32((it.Index()*1000 + i) * 1000)
			counts[fmt.Sprint(v == id)]++
		}
	}
	kept := counts["true"]
	if mean, sd := 4000.0/9, 21.1; float64(kept) < mean-5*sd || float64(kept) > mean+5*sd {
		t.Errorf("pixel kept %d times of 4000; want about %.0f", kept, mean)
	}
}

func TestLoaderZeroAllocs(t *testing.T) {
	d := seqDataset(256, 3, 8, 8)
	l := &Loader{Data: d, BatchSize: 32, Shuffle: true, Augment: Augmentation{CropPadding: 2, HorizontalFlip: true}}
	it := l.Epoch(0)
	it.Next()
	allocs := testing.AllocsPerRun(5, func() {
		if !it.Next() {
			it = l.Epoch(1)
			it.Next()
		}
	})
	// Starting an epoch allocates the iterator; a batch allocates nothing.
	if allocs > 0.25 {
		t.Errorf("allocations per batch got %v; want 0", allocs)
	}
}

func TestLoaderErrors(t *testing.T) {
	bad := seqDataset(4, 1, 2, 2)
	bad.Labels[0] = 99
	for _, c := range []struct {
		name string
		l    Loader
		from int
		want string
	}{
		{"no data", Loader{}, 0, "no dataset"},
		{"invalid data", Loader{Data: bad}, 0, "label 99"},
		{"negative padding", Loader{Data: seqDataset(4, 1, 2, 2), Augment: Augmentation{CropPadding: -1}}, 0, "CropPadding -1"},
		{"start past end", Loader{Data: seqDataset(4, 1, 2, 2)}, 3, "start batch 3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			it := c.l.EpochFrom(0, c.from)
			if it.Next() {
				t.Fatalf("Next got true; want false")
			}
			if err := it.Err(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v; want error containing %q", err, c.want)
			}
		})
	}
}

// BenchmarkLoaderCIFAR assembles CIFAR-shaped batches of 64 with the
// standard augmentation (pad 4 + crop, flip).
func BenchmarkLoaderCIFAR(b *testing.B) {
	for _, aug := range []Augmentation{{}, {CropPadding: 4, HorizontalFlip: true}} {
		b.Run(fmt.Sprintf("crop=%d,flip=%v", aug.CropPadding, aug.HorizontalFlip), func(b *testing.B) {
			d := &Dataset{Name: "bench", Images: tensor.New(4096, 3, 32, 32), Labels: make([]int, 4096), Classes: CIFAR10Classes}
			for i := range d.Images.Data {
				d.Images.Data[i] = float32(i%255) / 255
			}
			l := &Loader{Data: d, BatchSize: 64, Shuffle: true, Augment: aug}
			it := l.Epoch(0)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !it.Next() {
					it = l.Epoch(i)
					it.Next()
				}
			}
			b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
