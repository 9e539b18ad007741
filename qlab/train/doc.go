// Package train fits an nn.Model to a data.Dataset: the optimizers (SGD
// with momentum and Nesterov, Adam and AdamW, all with PyTorch's update
// rules so runs compare with torch.optim), learning-rate schedules, the
// training loop Fit with its History, evaluation, checkpoints and Resume,
// and progress reporting.
//
// Everything is deterministic: given the same Config.Seed, data and model,
// Fit produces bit-identical weights and metrics on every run and for any
// GOMAXPROCS (package nn's kernels reduce in a fixed order; package data's
// Loader shuffles and augments from (seed, epoch, batch); dropout masks are
// reseeded from (seed, layer, epoch, batch)).
//
// Boundary: train drives layers it does not know; the layers, the loss and
// the parameters belong to package nn, the datasets and batching to package
// data, the architectures to package arch.
package train
