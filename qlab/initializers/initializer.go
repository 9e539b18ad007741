package initializers

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Scheme names an initialization scheme; its values are the Keras
// identifiers and the names String and Parse use.
type Scheme string

// The schemes. The zero Scheme ("") behaves as SchemeGlorotUniform, the
// Keras default for Dense and Conv2D kernels.
const (
	SchemeZeros           Scheme = "zeros"
	SchemeConstant        Scheme = "constant"
	SchemeRandomUniform   Scheme = "random_uniform"
	SchemeRandomNormal    Scheme = "random_normal"
	SchemeTruncatedNormal Scheme = "truncated_normal"
	SchemeGlorotUniform   Scheme = "glorot_uniform"
	SchemeGlorotNormal    Scheme = "glorot_normal"
	SchemeHeUniform       Scheme = "he_uniform"
	SchemeHeNormal        Scheme = "he_normal"
	SchemeLeCunUniform    Scheme = "lecun_uniform"
	SchemeLeCunNormal     Scheme = "lecun_normal"
	SchemeVarianceScaling Scheme = "variance_scaling"
	SchemeOrthogonal      Scheme = "orthogonal"
)

// Mode selects which fan a variance-scaling scheme divides by.
type Mode string

// The modes, with Keras's names. The zero Mode ("") is FanIn.
const (
	FanIn  Mode = "fan_in"
	FanOut Mode = "fan_out"
	FanAvg Mode = "fan_avg" // (fanIn + fanOut) / 2
)

// Distribution is the distribution a variance-scaling scheme draws from.
type Distribution string

// The distributions, with Keras's names. The zero Distribution ("") is
// TruncatedNormalDist.
const (
	// TruncatedNormalDist: normal truncated at ±2 stddev (redrawn), stddev
	// = sqrt(scale/fan) / 0.87962566103423978 so the variance is scale/fan.
	TruncatedNormalDist Distribution = "truncated_normal"
	// UntruncatedNormalDist: normal with stddev sqrt(scale/fan).
	UntruncatedNormalDist Distribution = "untruncated_normal"
	// UniformDist: U(-limit, limit) with limit = sqrt(3*scale/fan).
	UniformDist Distribution = "uniform"
)

// Keras defaults, used when the matching field is zero.
const (
	DefaultLimit  = 0.05 // RandomUniform(minval=-0.05, maxval=0.05)
	DefaultStddev = 0.05 // RandomNormal / TruncatedNormal(stddev=0.05)
	DefaultGain   = 1.0  // Orthogonal(gain=1)
	DefaultScale  = 1.0  // VarianceScaling(scale=1)
)

// truncStd is the standard deviation of a standard normal truncated to
// (-2, 2); Keras's VarianceScaling (standalone Keras 2 and tf.keras)
// divides by it so that the truncated draw has the nominal variance. Some
// earlier Keras and TensorFlow 1.x releases did not, and so drew weights
// with 0.774 times the nominal variance; VarianceScaling(0.774*scale, ...)
// reproduces those.
const truncStd = .87962566103423978

// Initializer is a weight initialization scheme and its parameters. It is a
// plain value: compare it with ==, print it (String), parse it back (Parse),
// store it as JSON or YAML. Fields a scheme does not use are ignored (and
// omitted by String). The zero Initializer behaves exactly as
// GlorotUniform() (the Keras default kernel initializer) and prints as
// "glorot_uniform".
//
// Build one with the constructors (HeNormal(), RandomUniform(0.1), ...) or by
// Parse; set Fans to PyTorchFans to use PyTorch's fan rule.
type Initializer struct {
	// Scheme is the scheme; "" means SchemeGlorotUniform.
	Scheme Scheme `json:"scheme" yaml:"scheme"`
	// Limit is the half-width of random_uniform: U(-Limit, Limit).
	// 0 means DefaultLimit (0.05).
	Limit float64 `json:"limit,omitempty" yaml:"limit,omitempty"`
	// Stddev is the standard deviation of random_normal, and of the
	// untruncated normal that truncated_normal cuts at ±2 Stddev.
	// 0 means DefaultStddev (0.05).
	Stddev float64 `json:"stddev,omitempty" yaml:"stddev,omitempty"`
	// Mean is the mean of random_normal and truncated_normal (default 0).
	Mean float64 `json:"mean,omitempty" yaml:"mean,omitempty"`
	// Value is the value of constant (default 0).
	Value float64 `json:"value,omitempty" yaml:"value,omitempty"`
	// Gain multiplies the orthogonal matrix; 0 means DefaultGain (1).
	Gain float64 `json:"gain,omitempty" yaml:"gain,omitempty"`
	// Scale is variance_scaling's scale (variance = Scale/fan); 0 means
	// DefaultScale (1). The named schemes fix it (Glorot 1, He 2, LeCun 1).
	Scale float64 `json:"scale,omitempty" yaml:"scale,omitempty"`
	// Mode is variance_scaling's fan; "" means FanIn. The named schemes fix
	// it (Glorot fan_avg, He and LeCun fan_in).
	Mode Mode `json:"mode,omitempty" yaml:"mode,omitempty"`
	// Distribution is variance_scaling's distribution; "" means
	// TruncatedNormalDist. The named schemes fix it.
	Distribution Distribution `json:"distribution,omitempty" yaml:"distribution,omitempty"`
	// Fans is the fan rule of the variance-scaling schemes; "" means
	// KerasFans.
	Fans FanConvention `json:"fans,omitempty" yaml:"fans,omitempty"`
}

// Zeros fills with 0.
func Zeros() Initializer { return Initializer{Scheme: SchemeZeros} }

// Constant fills with v.
func Constant(v float64) Initializer { return Initializer{Scheme: SchemeConstant, Value: v} }

// RandomUniform draws from U(-limit, limit) (Keras RandomUniform with
// minval = -limit, maxval = limit; Keras's default limit is 0.05).
// Variance limit²/3; the fans play no part.
func RandomUniform(limit float64) Initializer {
	return Initializer{Scheme: SchemeRandomUniform, Limit: limit}
}

// RandomNormal draws from N(0, stddev²) (Keras RandomNormal; default
// stddev 0.05). The fans play no part.
func RandomNormal(stddev float64) Initializer {
	return Initializer{Scheme: SchemeRandomNormal, Stddev: stddev}
}

// TruncatedNormal draws from N(0, stddev²) and redraws any value more than
// 2*stddev from the mean (Keras TruncatedNormal, default stddev 0.05). As in
// Keras, stddev is that of the normal before truncation: the result has
// variance 0.7737*stddev².
func TruncatedNormal(stddev float64) Initializer {
	return Initializer{Scheme: SchemeTruncatedNormal, Stddev: stddev}
}

// GlorotUniform (Glorot & Bengio 2010) draws from U(-limit, limit) with
// limit = sqrt(6 / (fanIn + fanOut)): variance 2/(fanIn+fanOut). Keras
// VarianceScaling(scale=1, mode="fan_avg", distribution="uniform").
func GlorotUniform() Initializer { return Initializer{Scheme: SchemeGlorotUniform} }

// GlorotNormal draws from a normal truncated at ±2 stddev with stddev =
// sqrt(2/(fanIn+fanOut)) / 0.87962566103423978, so that the truncated draw
// has variance 2/(fanIn+fanOut). Keras VarianceScaling(scale=1,
// mode="fan_avg", distribution="truncated_normal"); PyTorch's
// xavier_normal_ uses an untruncated normal of the same variance.
func GlorotNormal() Initializer { return Initializer{Scheme: SchemeGlorotNormal} }

// XavierUniform is GlorotUniform.
func XavierUniform() Initializer { return GlorotUniform() }

// XavierNormal is GlorotNormal.
func XavierNormal() Initializer { return GlorotNormal() }

// HeUniform (He et al. 2015) draws from U(-limit, limit) with limit =
// sqrt(6/fanIn): variance 2/fanIn. Keras VarianceScaling(scale=2,
// mode="fan_in", distribution="uniform"); PyTorch's kaiming_uniform_ with
// a=0, fan_in mode gives the same.
func HeUniform() Initializer { return Initializer{Scheme: SchemeHeUniform} }

// HeNormal draws from a normal truncated at ±2 stddev with stddev =
// sqrt(2/fanIn) / 0.87962566103423978, so that the truncated draw has
// variance 2/fanIn. This is Keras's he_normal (VarianceScaling(scale=2,
// mode="fan_in", distribution="truncated_normal")), followed because the
// reproduced papers used TensorFlow; PyTorch's kaiming_normal_ instead draws
// an untruncated normal with stddev sqrt(2/fanIn) (same variance, no tails
// beyond 2.27 sqrt(2/fanIn)). For that, use VarianceScaling(2, FanIn,
// UntruncatedNormalDist).
func HeNormal() Initializer { return Initializer{Scheme: SchemeHeNormal} }

// LeCunUniform (LeCun et al. 1998) draws from U(-limit, limit) with limit =
// sqrt(3/fanIn): variance 1/fanIn. Keras VarianceScaling(scale=1,
// mode="fan_in", distribution="uniform").
func LeCunUniform() Initializer { return Initializer{Scheme: SchemeLeCunUniform} }

// LeCunNormal draws from a normal truncated at ±2 stddev with stddev =
// sqrt(1/fanIn) / 0.87962566103423978 (variance 1/fanIn). Keras
// VarianceScaling(scale=1, mode="fan_in", distribution="truncated_normal").
func LeCunNormal() Initializer { return Initializer{Scheme: SchemeLeCunNormal} }

// VarianceScaling is Keras's general scheme: with n the fan chosen by mode,
// a truncated normal draw has stddev sqrt(scale/n)/0.87962566103423978 (cut
// at ±2 stddev, variance scale/n), an untruncated one stddev sqrt(scale/n),
// a uniform one limit sqrt(3*scale/n).
func VarianceScaling(scale float64, mode Mode, dist Distribution) Initializer {
	return Initializer{Scheme: SchemeVarianceScaling, Scale: scale, Mode: mode, Distribution: dist}
}

// Orthogonal (Saxe et al. 2014) fills the weight, viewed as a matrix of
// shape[0] rows and the product of the other extents as columns (PyTorch's
// orthogonal_ flattening; Keras flattens to the transpose), with gain times
// a random orthogonal matrix: the Q factor of the QR decomposition of a
// standard normal matrix, with signs fixed so R has a positive diagonal
// (Haar distributed). If rows <= cols, W·Wᵀ = gain²·I; otherwise
// Wᵀ·W = gain²·I. Keras's default gain is 1.
func Orthogonal(gain float64) Initializer { return Initializer{Scheme: SchemeOrthogonal, Gain: gain} }

// All returns every scheme with its Keras default parameters, in the order
// of Names: a ready-made axis for an ablation grid (filter out zeros and
// constant, which no trainable network starts from, if you need to).
func All() []Initializer {
	return []Initializer{
		Zeros(),
		Constant(0),
		RandomUniform(DefaultLimit),
		RandomNormal(DefaultStddev),
		TruncatedNormal(DefaultStddev),
		GlorotUniform(),
		GlorotNormal(),
		HeUniform(),
		HeNormal(),
		LeCunUniform(),
		LeCunNormal(),
		VarianceScaling(DefaultScale, FanIn, TruncatedNormalDist),
		Orthogonal(DefaultGain),
	}
}

// Names returns the scheme names, in the order of All.
func Names() []string {
	all := All()
	names := make([]string, len(all))
	for i, in := range all {
		names[i] = string(in.Scheme)
	}
	return names
}

// scheme returns the effective scheme.
func (in Initializer) scheme() Scheme {
	if in.Scheme == "" {
		return SchemeGlorotUniform
	}
	return in.Scheme
}

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// varianceScaling returns the effective (scale, mode, distribution) of a
// variance-scaling scheme, and false for the others.
func (in Initializer) varianceScaling() (float64, Mode, Distribution, bool) {
	switch in.scheme() {
	case SchemeGlorotUniform:
		return 1, FanAvg, UniformDist, true
	case SchemeGlorotNormal:
		return 1, FanAvg, TruncatedNormalDist, true
	case SchemeHeUniform:
		return 2, FanIn, UniformDist, true
	case SchemeHeNormal:
		return 2, FanIn, TruncatedNormalDist, true
	case SchemeLeCunUniform:
		return 1, FanIn, UniformDist, true
	case SchemeLeCunNormal:
		return 1, FanIn, TruncatedNormalDist, true
	case SchemeVarianceScaling:
		mode, dist := in.Mode, in.Distribution
		if mode == "" {
			mode = FanIn
		}
		if dist == "" {
			dist = TruncatedNormalDist
		}
		return orDefault(in.Scale, DefaultScale), mode, dist, true
	}
	return 0, "", "", false
}

// Validate returns an error naming the first unknown scheme, mode,
// distribution or fan convention, or parameter that is negative, NaN or
// infinite.
func (in Initializer) Validate() error {
	finite := func(name string, v float64, nonNeg bool) error {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("initializers: %s: %s is %v; want a finite number", in.scheme(), name, v)
		}
		if nonNeg && v < 0 {
			return fmt.Errorf("initializers: %s: %s is %v; want >= 0", in.scheme(), name, v)
		}
		return nil
	}
	switch in.Fans {
	case "", KerasFans, PyTorchFans:
	default:
		return fmt.Errorf("initializers: %s: unknown fan convention %q (want %q or %q)", in.scheme(), string(in.Fans), KerasFans, PyTorchFans)
	}
	switch in.scheme() {
	case SchemeZeros:
		return nil
	case SchemeConstant:
		return finite("value", in.Value, false)
	case SchemeRandomUniform:
		return finite("limit", in.Limit, true)
	case SchemeRandomNormal, SchemeTruncatedNormal:
		if err := finite("stddev", in.Stddev, true); err != nil {
			return err
		}
		return finite("mean", in.Mean, false)
	case SchemeOrthogonal:
		return finite("gain", in.Gain, false)
	case SchemeVarianceScaling:
		if err := finite("scale", in.Scale, true); err != nil {
			return err
		}
		switch in.Mode {
		case "", FanIn, FanOut, FanAvg:
		default:
			return fmt.Errorf("initializers: variance_scaling: unknown mode %q (want fan_in, fan_out or fan_avg)", string(in.Mode))
		}
		switch in.Distribution {
		case "", TruncatedNormalDist, UntruncatedNormalDist, UniformDist:
		default:
			return fmt.Errorf("initializers: variance_scaling: unknown distribution %q (want truncated_normal, untruncated_normal or uniform)", string(in.Distribution))
		}
		return nil
	case SchemeGlorotUniform, SchemeGlorotNormal, SchemeHeUniform, SchemeHeNormal, SchemeLeCunUniform, SchemeLeCunNormal:
		return nil
	}
	return fmt.Errorf("initializers: unknown scheme %q (known: %s)", string(in.Scheme), strings.Join(Names(), ", "))
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// String returns a stable, readable name that Parse turns back into an
// equivalent Initializer: "he_normal", "random_uniform(0.05)",
// "random_normal(0.1,mean=0.5)", "orthogonal(1)",
// "variance_scaling(scale=2,mode=fan_in,distribution=uniform)", with
// ",fans=pytorch" (or "(fans=pytorch)") added when the PyTorch fan rule is
// selected for a scheme that uses fans. Defaults are written out, so a zero
// Limit prints as 0.05. Numbers use the shortest form that round-trips.
func (in Initializer) String() string {
	s := in.scheme()
	var args []string
	switch s {
	case SchemeConstant:
		args = append(args, fmtFloat(in.Value))
	case SchemeRandomUniform:
		args = append(args, fmtFloat(orDefault(in.Limit, DefaultLimit)))
	case SchemeRandomNormal, SchemeTruncatedNormal:
		args = append(args, fmtFloat(orDefault(in.Stddev, DefaultStddev)))
		if in.Mean != 0 {
			args = append(args, "mean="+fmtFloat(in.Mean))
		}
	case SchemeOrthogonal:
		args = append(args, fmtFloat(orDefault(in.Gain, DefaultGain)))
	case SchemeVarianceScaling:
		scale, mode, dist, _ := in.varianceScaling()
		args = append(args, "scale="+fmtFloat(scale), "mode="+string(mode), "distribution="+string(dist))
	}
	if _, _, _, vs := in.varianceScaling(); vs && in.Fans == PyTorchFans {
		args = append(args, "fans="+string(PyTorchFans))
	}
	if len(args) == 0 {
		return string(s)
	}
	return string(s) + "(" + strings.Join(args, ",") + ")"
}

// Parse is the inverse of String. It also accepts a bare scheme name for the
// Keras defaults ("random_uniform" is random_uniform(0.05)), the aliases
// xavier_uniform, xavier_normal, kaiming_uniform and kaiming_normal (the
// Keras forms), the first parameter by name ("random_uniform(limit=0.1)"),
// surrounding spaces, and any case in the scheme name. Errors name the
// offending part.
func Parse(s string) (Initializer, error) {
	src := s
	s = strings.TrimSpace(s)
	name, argStr := s, ""
	if i := strings.IndexByte(s, '('); i >= 0 {
		if !strings.HasSuffix(s, ")") {
			return Initializer{}, fmt.Errorf("initializers: parse %q: missing closing parenthesis", src)
		}
		name, argStr = strings.TrimSpace(s[:i]), s[i+1:len(s)-1]
	}
	name = strings.ToLower(name)
	switch name {
	case "xavier_uniform", "kaiming_uniform":
		name = map[string]string{"xavier_uniform": "glorot_uniform", "kaiming_uniform": "he_uniform"}[name]
	case "xavier_normal", "kaiming_normal":
		name = map[string]string{"xavier_normal": "glorot_normal", "kaiming_normal": "he_normal"}[name]
	}
	in := Initializer{Scheme: Scheme(name)}
	// primary is the field a positional first argument sets.
	var primary string
	switch in.Scheme {
	case SchemeZeros, SchemeGlorotUniform, SchemeGlorotNormal, SchemeHeUniform, SchemeHeNormal,
		SchemeLeCunUniform, SchemeLeCunNormal, SchemeVarianceScaling:
	case SchemeConstant:
		primary = "value"
	case SchemeRandomUniform:
		primary, in.Limit = "limit", DefaultLimit
	case SchemeRandomNormal, SchemeTruncatedNormal:
		primary, in.Stddev = "stddev", DefaultStddev
	case SchemeOrthogonal:
		primary, in.Gain = "gain", DefaultGain
	default:
		return Initializer{}, fmt.Errorf("initializers: parse %q: unknown scheme %q (known: %s)", src, name, strings.Join(Names(), ", "))
	}
	if in.Scheme == SchemeVarianceScaling {
		in.Scale, in.Mode, in.Distribution = DefaultScale, FanIn, TruncatedNormalDist
	}
	if strings.TrimSpace(argStr) != "" {
		for i, arg := range strings.Split(argStr, ",") {
			arg = strings.TrimSpace(arg)
			key, val, hasKey := strings.Cut(arg, "=")
			if !hasKey {
				if i != 0 || primary == "" {
					return Initializer{}, fmt.Errorf("initializers: parse %q: argument %q needs a name (key=value)", src, arg)
				}
				key, val = primary, arg
			}
			key, val = strings.TrimSpace(strings.ToLower(key)), strings.TrimSpace(val)
			if err := in.set(key, val); err != nil {
				return Initializer{}, fmt.Errorf("initializers: parse %q: %w", src, err)
			}
		}
	}
	if err := in.Validate(); err != nil {
		return Initializer{}, fmt.Errorf("initializers: parse %q: %w", src, err)
	}
	return in, nil
}

// set assigns one parsed key=value argument, refusing keys the scheme does
// not use.
func (in *Initializer) set(key, val string) error {
	s := in.Scheme
	vs := false
	switch s {
	case SchemeGlorotUniform, SchemeGlorotNormal, SchemeHeUniform, SchemeHeNormal,
		SchemeLeCunUniform, SchemeLeCunNormal, SchemeVarianceScaling:
		vs = true
	}
	num := func(dst *float64) error {
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return fmt.Errorf("%s=%q is not a number", key, val)
		}
		*dst = v
		return nil
	}
	switch {
	case key == "value" && s == SchemeConstant:
		return num(&in.Value)
	case key == "limit" && s == SchemeRandomUniform:
		return num(&in.Limit)
	case key == "stddev" && (s == SchemeRandomNormal || s == SchemeTruncatedNormal):
		return num(&in.Stddev)
	case key == "mean" && (s == SchemeRandomNormal || s == SchemeTruncatedNormal):
		return num(&in.Mean)
	case key == "gain" && s == SchemeOrthogonal:
		return num(&in.Gain)
	case key == "scale" && s == SchemeVarianceScaling:
		return num(&in.Scale)
	case key == "mode" && s == SchemeVarianceScaling:
		in.Mode = Mode(strings.ToLower(val))
		return nil
	case key == "distribution" && s == SchemeVarianceScaling:
		in.Distribution = Distribution(strings.ToLower(val))
		return nil
	case key == "fans" && vs:
		switch FanConvention(strings.ToLower(val)) {
		case KerasFans:
			in.Fans = ""
		case PyTorchFans:
			in.Fans = PyTorchFans
		default:
			return fmt.Errorf("unknown fan convention %q (want keras or pytorch)", val)
		}
		return nil
	}
	return fmt.Errorf("%s takes no parameter %q", s, key)
}
