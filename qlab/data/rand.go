package data

import (
	"math/bits"
	"math/rand/v2"
)

// The loader's randomness is spelled out here rather than taken from
// math/rand's Shuffle or IntN so the exact streams are part of this package:
// a dataset order or a crop offset must never change under a Go upgrade,
// because checkpoints and published seeds refer to them.

// newRNG returns a PCG stream keyed by seed and a stream id.
func newRNG(seed, stream uint64) *rand.PCG {
	return rand.NewPCG(seed, mix(stream))
}

// mix is splitmix64's finaliser; it spreads small stream ids (epoch and batch
// numbers) over all 64 bits so neighbouring streams are unrelated.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// below returns a value in [0, n) from r by Lemire's multiply-shift. Its bias
// is below n/2^64, far under anything a dataset index can show.
func below(r *rand.PCG, n int) int {
	hi, _ := bits.Mul64(r.Uint64(), uint64(n))
	return int(hi)
}

// permute fills p with a Fisher–Yates permutation of [0, len(p)) drawn from
// PCG(seed, mix(stream)).
func permute(p []int, seed, stream uint64) {
	for i := range p {
		p[i] = i
	}
	r := newRNG(seed, stream)
	for i := len(p) - 1; i > 0; i-- {
		j := below(r, i+1)
		p[i], p[j] = p[j], p[i]
	}
}
