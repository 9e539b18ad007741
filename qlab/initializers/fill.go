package initializers

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// Fill overwrites w with a draw of the scheme for a weight of the given
// layout. The draw is a function of (scheme, shape, layout, seed) only: it
// uses a PCG source (math/rand/v2) seeded from seed — never the clock — and
// fills w.Data in row-major order on one goroutine, so the same seed gives
// bit-identical weights whatever GOMAXPROCS is. Values are computed in
// float64 and rounded once to float32. Pass SeedFor(modelSeed, paramName)
// as seed so each parameter gets its own stream.
//
// Fill returns an error naming the problem when w is nil, its data does not
// match its shape, the shape does not fit the layout (see Fans), or a
// parameter is invalid (see Validate); w is then unchanged.
func (in Initializer) Fill(w *tensor.Tensor, layout Layout, seed uint64) error {
	if w == nil {
		return fmt.Errorf("initializers: %s: nil weight tensor", in)
	}
	if n := tensor.Size(w.Shape); n != len(w.Data) {
		return fmt.Errorf("initializers: %s: weight shape %v holds %d elements but data has %d", in, w.Shape, n, len(w.Data))
	}
	if err := in.Validate(); err != nil {
		return err
	}
	fanIn, fanOut, err := FansFor(w.Shape, layout, in.Fans)
	if err != nil {
		return fmt.Errorf("%w (initializer %s)", err, in)
	}
	rng := newRand(seed)
	d := w.Data
	switch s := in.scheme(); s {
	case SchemeZeros:
		clear(d)
	case SchemeConstant:
		v := float32(in.Value)
		for i := range d {
			d[i] = v
		}
	case SchemeRandomUniform:
		fillUniform(d, rng, orDefault(in.Limit, DefaultLimit))
	case SchemeRandomNormal:
		fillNormal(d, rng, in.Mean, orDefault(in.Stddev, DefaultStddev))
	case SchemeTruncatedNormal:
		fillTruncated(d, rng, in.Mean, orDefault(in.Stddev, DefaultStddev))
	case SchemeOrthogonal:
		cols := len(d) / w.Shape[0]
		if err := fillOrthogonal(d, rng, w.Shape[0], cols, orDefault(in.Gain, DefaultGain)); err != nil {
			return fmt.Errorf("initializers: %s: weight shape %v: %w", in, w.Shape, err)
		}
	default:
		scale, mode, dist, _ := in.varianceScaling()
		var n float64
		switch mode {
		case FanIn:
			n = float64(fanIn)
		case FanOut:
			n = float64(fanOut)
		case FanAvg:
			n = float64(fanIn+fanOut) / 2
		}
		// Keras divides by max(1, n); n >= 1 here since extents are >= 1.
		v := scale / math.Max(1, n)
		switch dist {
		case UniformDist:
			fillUniform(d, rng, math.Sqrt(3*v))
		case UntruncatedNormalDist:
			fillNormal(d, rng, 0, math.Sqrt(v))
		case TruncatedNormalDist:
			fillTruncated(d, rng, 0, math.Sqrt(v)/truncStd)
		}
	}
	return nil
}

// newRand returns the generator for one Fill. The two PCG words are
// splitmix64 images of the seed so that nearby seeds give unrelated streams.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix64(seed), splitmix64(seed^0x6a09e667f3bcc909)))
}

// fillUniform draws U(-limit, limit): Float64 is uniform on [0, 1), so the
// interval is [-limit, limit) as Keras's minval <= x < maxval.
func fillUniform(d []float32, rng *rand.Rand, limit float64) {
	for i := range d {
		d[i] = float32(limit * (2*rng.Float64() - 1))
	}
}

func fillNormal(d []float32, rng *rand.Rand, mean, stddev float64) {
	for i := range d {
		d[i] = float32(mean + float64(stddev*rng.NormFloat64()))
	}
}

// fillTruncated draws N(mean, stddev²) and redraws values more than two
// standard deviations from the mean, as TensorFlow's truncated_normal does.
func fillTruncated(d []float32, rng *rand.Rand, mean, stddev float64) {
	for i := range d {
		z := rng.NormFloat64()
		for z < -2 || z > 2 {
			z = rng.NormFloat64()
		}
		d[i] = float32(mean + float64(stddev*z))
	}
}

// fillOrthogonal writes gain times a Haar-random matrix with orthonormal rows
// (rows <= cols) or columns (rows > cols) into d, row-major rows x cols.
// It orthonormalises the columns of a tall standard normal matrix by
// Gram–Schmidt with re-orthogonalisation (two passes keep the result
// orthogonal to machine precision); Gram–Schmidt's R has a positive diagonal
// by construction, which is the sign fix that makes Q Haar distributed.
func fillOrthogonal(d []float32, rng *rand.Rand, rows, cols int, gain float64) error {
	tall, short := rows, cols
	if rows < cols {
		tall, short = cols, rows
	}
	// q holds the short column vectors of length tall, one after another.
	q := make([]float64, tall*short)
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	for j := 0; j < short; j++ {
		v := q[j*tall : (j+1)*tall]
		for pass := 0; pass < 2; pass++ {
			for k := 0; k < j; k++ {
				u := q[k*tall : (k+1)*tall]
				var dot float64
				for t := range v {
					// Explicit conversions stop the compiler fusing
					// into FMA on some architectures, which would
					// change the bits from one machine to another.
					dot += float64(u[t] * v[t])
				}
				for t := range v {
					v[t] -= float64(dot * u[t])
				}
			}
		}
		var norm float64
		for _, x := range v {
			norm += float64(x * x)
		}
		norm = math.Sqrt(norm)
		if !(norm > 1e-12) {
			return fmt.Errorf("orthogonal: degenerate random draw (column %d has norm %g)", j, norm)
		}
		for t := range v {
			v[t] /= norm
		}
	}
	// Column j of the tall matrix is q[j*tall:]. If rows >= cols, W is the
	// tall matrix (rows x cols); otherwise W is its transpose.
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			var x float64
			if rows >= cols {
				x = q[c*tall+r]
			} else {
				x = q[r*tall+c]
			}
			d[r*cols+c] = float32(gain * x)
		}
	}
	return nil
}
