// Package initializers provides the weight initialization schemes studied by
// the qlab ablations — zeros and constants, random uniform / normal /
// truncated normal at a chosen range, Glorot (Xavier), He and LeCun in their
// uniform and normal forms, general variance scaling, and orthogonal — as
// plain values (Initializer) that print, parse and serialise to JSON/YAML, so
// a sweep can store the exact scheme in a trial ID.
//
// The formulas follow Keras (TensorFlow 2), because the papers this project
// reproduces (Yun & Wong, arXiv 2011.14578 and companions) trained with
// TensorFlow: the fan rule is Keras's (see Fans), and the "normal" variance
// scaling schemes draw from a normal truncated at two standard deviations
// whose standard deviation is divided by 0.87962566103423978 so the variance
// of the result is the nominal one. A PyTorch fan rule is offered as an
// option (FanConvention) because it differs for depthwise kernels.
//
// Randomness is explicit: Fill takes a seed, draws from a PCG source built
// from it (math/rand/v2), never from the clock, and is single-threaded, so the
// same seed gives bit-identical weights for any GOMAXPROCS. SeedFor derives a
// per-parameter seed from a model seed and the parameter's name, so a layer's
// draw does not depend on the order layers are initialized in.
//
// Boundary: this package only fills tensors. Which parameters get which
// initializer (biases to zero, batch-norm gamma to one) is decided by the
// model in package nn (Model.Initialize).
package initializers
