// Package nn provides qlab's neural-network layers (nouns: Conv2D,
// DepthwiseConv2D, BatchNorm2D, ReLU, pools, Dense, Dropout, Sequential,
// Residual), the Model that strings them together, and the softmax
// cross-entropy loss. Every layer has an explicit Forward and Backward,
// each checked in the tests against finite differences and against
// PyTorch 1.13 vectors committed under testdata/.
//
// Layouts follow PyTorch so vectors compare element by element: images are
// NCHW float32, conv weights (out, in, kh, kw), depthwise weights
// (C*multiplier, 1, kh, kw) (PyTorch groups=C), dense weights (out, in),
// dense inputs (N, F).
//
// Buffer ownership: the tensor a layer returns from Forward or Backward is
// a buffer the layer owns and overwrites on its next call; copy it (Clone)
// to keep it. Layers keep a reference to their Forward input until Backward,
// so the caller must not modify an input between the two calls. Backward
// adds (+=) into parameter gradients; ZeroGrad clears them.
//
// Speed: convolutions use im2col plus qlab/internal/gemm (one GEMM per
// sample forward; the weight gradient as one long-K GEMM per group of
// samples; for stride 1 the input gradient as a GEMM with the flipped
// kernel), the 3x3 depthwise convolution a direct one-pass kernel, and
// the 3x3 patch copies, depthwise rows, BatchNorm and activation passes
// AVX2+FMA kernels where the CPU has them (pure Go elsewhere and under the
// purego build tag; results agree to rounding). A BatchNorm2D
// directly followed by a ReLU or ReLU6 in a Sequential, Residual body or
// Model runs as one fused pass (forward only while no observer is
// attached, so observers still see and may modify the BatchNorm output).
//
// Determinism: work is split over a fixed grid of tasks that depends only
// on the problem size; each task owns its outputs or a partial-sum slot,
// and partial sums (weight gradients over the batch) are combined in task
// order, so results are bit-identical for any GOMAXPROCS on a given CPU.
// After the first call at a given batch size, Forward and Backward
// allocate nothing.
//
// Boundary: nn knows nothing of optimizers, data sets or quantization. The
// training loop (qlab/train) updates Param values from their gradients;
// quantizers (qlab/quant) and statistics (qlab/analysis) hook in through
// Model.Observe and Model.Params.
package nn
