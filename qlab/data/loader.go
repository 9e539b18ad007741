package data

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// DefaultBatchSize is the batch size a Loader uses when BatchSize is 0.
const DefaultBatchSize = 64

// Augmentation is the training-time augmentation a Loader applies to each
// sample. The zero value applies none.
type Augmentation struct {
	// CropPadding, when positive, pads each image with this many zero
	// pixels on every side and takes a random crop of the original size
	// (the standard CIFAR-10 recipe uses 4). 0 disables cropping.
	CropPadding int
	// HorizontalFlip mirrors each image left-right with probability 1/2.
	HorizontalFlip bool
}

// Loader cuts a Dataset into mini-batches. The zero value of every field but
// Data is a sensible default: batches of 64 in dataset order, no
// augmentation, a short final batch kept.
//
// Everything random is a pure function of (Seed, epoch, batch index): the
// order of an epoch comes from Seed and the epoch number, and the
// augmentation of a batch from Seed, the epoch and the batch index. Batches
// are therefore bit-identical across runs, machines and GOMAXPROCS, and an
// epoch can be resumed at any batch (EpochFrom) with exactly the batches an
// uninterrupted run would have produced.
//
// A Loader reuses one image buffer and one label buffer for all batches: the
// tensor and slice a batch returns are overwritten by the next one, so copy
// them to keep them. A Loader must not be used from several goroutines.
type Loader struct {
	// Data is the dataset to iterate over. Required.
	Data *Dataset
	// BatchSize is the number of samples per batch. Default 64.
	BatchSize int
	// Shuffle draws a fresh order for every epoch. Default: dataset order.
	Shuffle bool
	// Seed keys the shuffling and augmentation. Default 0 (a valid seed).
	Seed uint64
	// Augment is applied to every sample. Default: none.
	Augment Augmentation
	// DropLast drops a final batch smaller than BatchSize. Default: keep it.
	DropLast bool

	order  []int
	rng    rand.PCG
	images tensor.Tensor
	labels []int
}

func (l *Loader) batchSize() int {
	if l.BatchSize <= 0 {
		return DefaultBatchSize
	}
	return l.BatchSize
}

// Batches returns the number of batches in one epoch.
func (l *Loader) Batches() int {
	if l.Data == nil {
		return 0
	}
	n, b := l.Data.Len(), l.batchSize()
	if l.DropLast {
		return n / b
	}
	return (n + b - 1) / b
}

// Epoch returns an iterator over the batches of epoch number epoch
// (0-based). Starting a new epoch invalidates the previous iterator.
func (l *Loader) Epoch(epoch int) *EpochIterator { return l.EpochFrom(epoch, 0) }

// EpochFrom is Epoch starting at batch index batch, skipping the earlier
// batches without assembling them; used to resume from a checkpoint.
func (l *Loader) EpochFrom(epoch, batch int) *EpochIterator {
	it := &EpochIterator{l: l, epoch: epoch, next: batch, cur: -1}
	if err := l.check(); err != nil {
		it.err = err
		return it
	}
	if batch < 0 || batch > l.Batches() {
		it.err = fmt.Errorf("data: loader over %q: start batch %d outside [0, %d]", l.Data.Name, batch, l.Batches())
		return it
	}
	n := l.Data.Len()
	if cap(l.order) < n {
		l.order = make([]int, n)
	}
	l.order = l.order[:n]
	if l.Shuffle {
		permute(l.order, l.Seed, uint64(epoch))
	} else {
		for i := range l.order {
			l.order[i] = i
		}
	}
	return it
}

func (l *Loader) check() error {
	if l.Data == nil {
		return errors.New("data: loader has no dataset")
	}
	if err := l.Data.Validate(); err != nil {
		return err
	}
	if l.Augment.CropPadding < 0 {
		return fmt.Errorf("data: loader over %q: CropPadding %d is negative", l.Data.Name, l.Augment.CropPadding)
	}
	return nil
}

// EpochIterator walks the batches of one epoch:
//
//	it := loader.Epoch(e)
//	for it.Next() {
//		x, y := it.Batch()
//		...
//	}
//	if err := it.Err(); err != nil { ... }
type EpochIterator struct {
	l     *Loader
	epoch int
	next  int
	cur   int
	err   error
}

// Next assembles the next batch and reports whether there is one.
func (it *EpochIterator) Next() bool {
	if it.err != nil || it.next >= it.l.Batches() {
		return false
	}
	it.cur = it.next
	it.next++
	it.l.assemble(it.epoch, it.cur)
	return true
}

// Batch returns the current batch: images (B, C, H, W) and their labels,
// in the Loader's reused buffers.
func (it *EpochIterator) Batch() (images *tensor.Tensor, labels []int) {
	return &it.l.images, it.l.labels
}

// Index returns the index of the current batch within the epoch.
func (it *EpochIterator) Index() int { return it.cur }

// Epoch returns the epoch number the iterator walks.
func (it *EpochIterator) Epoch() int { return it.epoch }

// Err returns the configuration error that stopped the iteration, if any.
func (it *EpochIterator) Err() error { return it.err }

// seedAugment keys r for a batch's augmentation draws; distinct from the
// streams permute uses for epoch orders.
func seedAugment(r *rand.PCG, seed uint64, epoch, batch int) {
	r.Seed(mix(seed^0x5bd1e9955bd1e995), mix(uint64(epoch)<<32^uint64(uint32(batch))))
}

func (l *Loader) assemble(epoch, batch int) {
	d := l.Data
	b := l.batchSize()
	lo := batch * b
	hi := min(lo+b, d.Len())
	c, h, w := d.Images.Shape[1], d.Images.Shape[2], d.Images.Shape[3]
	s := c * h * w
	if sh := l.images.Shape; len(sh) != 4 || sh[0] != hi-lo || sh[1] != c || sh[2] != h || sh[3] != w {
		// tensor.Resize's variadic shape escapes (it may panic with it), so
		// it is called only when the shape changes.
		l.images.Resize(hi-lo, c, h, w)
	}
	if cap(l.labels) < b {
		l.labels = make([]int, b)
	}
	l.labels = l.labels[:hi-lo]
	aug := l.Augment
	var r *rand.PCG
	if aug.CropPadding > 0 || aug.HorizontalFlip {
		r = &l.rng
		seedAugment(r, l.Seed, epoch, batch)
	}
	for i := range hi - lo {
		j := l.order[lo+i]
		l.labels[i] = d.Labels[j]
		src := d.Images.Data[j*s : (j+1)*s]
		dst := l.images.Data[i*s : (i+1)*s]
		if r == nil {
			copy(dst, src)
			continue
		}
		// Draw order per sample is fixed (dy, dx, flip) whatever is
		// enabled later, so a stream never depends on which field is set.
		dy, dx := 0, 0
		if p := aug.CropPadding; p > 0 {
			dy = below(r, 2*p+1) - p
			dx = below(r, 2*p+1) - p
		}
		flip := aug.HorizontalFlip && r.Uint64()>>63 == 1
		shiftFlip(dst, src, c, h, w, dy, dx, flip)
	}
}

// shiftFlip writes into dst (C, H, W) the image src shifted so that
// dst[y][x] = src[y+dy][x+dx] (zero outside src) — a crop at offset
// (p+dy, p+dx) of src zero-padded by p — then mirrored left-right if flip.
func shiftFlip(dst, src []float32, c, h, w, dy, dx int, flip bool) {
	x0, x1 := max(0, -dx), min(w, w-dx) // dst columns with a source pixel
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			drow := dst[(ch*h+y)*w : (ch*h+y+1)*w]
			sy := y + dy
			if sy < 0 || sy >= h || x0 >= x1 {
				clear(drow)
				continue
			}
			srow := src[(ch*h+sy)*w : (ch*h+sy+1)*w]
			if !flip {
				clear(drow[:x0])
				copy(drow[x0:x1], srow[x0+dx:x1+dx])
				clear(drow[x1:])
				continue
			}
			// Mirrored: dst[w-1-x] takes what the unflipped dst[x] holds.
			for x := 0; x < w; x++ {
				v := float32(0)
				if x >= x0 && x < x1 {
					v = srow[x+dx]
				}
				drow[w-1-x] = v
			}
		}
	}
}
