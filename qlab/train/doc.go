// Package train fits an nn.Model to a data.Dataset and runs models over
// data sets. It holds the one training loop, the one evaluation loop and
// the one way to observe layers that the rest of qlab builds on:
//
//   - Loop, the training loop, extended by typed hooks (Hook: a Stage, a
//     Priority and a func(*Loop) error), as gomlx extends its loop. Fit,
//     quant.TrainQAT and the sweep trials are a Loop plus hooks.
//   - Evaluate, loss and accuracy of anything with a forward pass
//     (Forwarder: a float *nn.Model, a fake-quantized *quant.Model, an
//     integer model through quant.IntModel.Dequantized).
//   - Observe, a scan of a model over a data set with a LayerFunc after
//     every leaf layer, which may fail; Attach (a Tap) puts a LayerFunc on
//     a model's own forward passes, training included. Calibration,
//     per-layer statistics and ranges are LayerFuncs.
//   - EachBatch, the batch walker under Evaluate and Observe.
//
// Around the loop: the optimizers (SGD with momentum and Nesterov, Adam
// and AdamW, all with PyTorch's update rules so runs compare with
// torch.optim), learning-rate schedules, Fit with its History,
// checkpoints and Resume, and progress reporting.
//
// Everything is deterministic: given the same Config.Seed, data and model,
// Fit produces bit-identical weights and metrics on every run and for any
// GOMAXPROCS (package nn's kernels reduce in a fixed order; package data's
// Loader shuffles and augments from (seed, epoch, batch); dropout masks are
// reseeded from (seed, layer, epoch, batch)).
//
// Boundary: train drives layers it does not know; the layers, the loss and
// the parameters belong to package nn, the datasets and batching to package
// data, the architectures to package arch, quantization to package quant.
package train
