// Package torchio brings trained networks in from PyTorch and out to it:
// state_dicts saved with torch.save (the zip format) or as safetensors load
// into qlab models of every architecture in package arch, and qlab models
// save to both formats, loadable into the reference torch.nn definitions
// that ship with this package (reference/qlab_models.py, a file researchers
// train with, on a CPU or a GPU). Fake-quantization parameters go out as a
// JSON file that the same Python file applies with PyTorch's
// fake_quantize_per_tensor_affine and fake_quantize_per_channel_affine.
//
// The round trip, in Go:
//
//	m, _ := arch.RefNetDWS().Build()                // the spec it was trained as
//	err := torchio.Load(m, "refnet_dws.pt")         // torch.save(model.state_dict(), ...)
//	err = torchio.Save(m, "refnet_dws.safetensors") // or ".pt"
//
// and in Python, with reference/qlab_models.py on the path:
//
//	model = qlab_models.build("refnet-dws")
//	model.load_state_dict(qlab_models.load_checkpoint("refnet_dws.safetensors"))
//
// Files saved from a GPU load as they are; float16, bfloat16 and float64
// tensors are converted to float32; a training checkpoint dict holding
// the state_dict under "state_dict", "model_state_dict" or "model" is read
// too; LoadOptions.Prefix strips DataParallel's "module.". ReferenceCheckpoint
// is a RefNet-DWS trained this way on MNIST, the one notebook 08 analyses.
//
// # Names
//
// A qlab parameter "<layer>/<role>" is the state_dict key
// TorchKey(name): the layer path with "/" as "." and a trailing
// "/bn" joined by "_", BatchNorm's gamma and beta as weight and bias
// ("block1/dw/bn/gamma" -> "block1.dw_bn.weight"). Every BatchNorm2d also
// has num_batches_tracked. Layouts are PyTorch's own, so no tensor is
// transposed. Names and NamesTable list a model's mapping.
//
// # Errors
//
// Nothing is half-loaded: LoadStateDict checks every tensor before it
// changes the model and reports every unknown, missing, mis-shaped or
// non-finite tensor with its shape and the expected one (ErrMismatch).
// Truncated or corrupt files are ErrFormat errors.
//
// # Dependencies
//
// torch.save archives are unpickled by github.com/nlpodyssey/gopickle's
// pickle machine; the archive, storages and strided views are read here,
// so record sizes are checked before anything is allocated. safetensors
// files are parsed and written by github.com/nlpodyssey/safetensors. The
// torch.save writer is this package's: neither library writes pickles.
//
// Boundary: torchio converts names, layouts and files; the layers are
// package nn's, the architectures package arch's, the quantization
// package quant's.
package torchio
