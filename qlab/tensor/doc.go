// Package tensor provides Tensor, the dense float32 array every qlab package
// passes around: row-major, images in NCHW order (batch, channels, height,
// width), dense weights as (out, in), conv weights as (out, in/groups, kh, kw),
// the same layouts PyTorch uses so test vectors compare element by element.
//
// The package holds storage and shape only; arithmetic lives with the layers
// (package nn) and the quantizers (package quant).
package tensor
