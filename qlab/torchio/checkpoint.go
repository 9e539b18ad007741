package torchio

import _ "embed"

//go:embed reference/refnet_dws_mnist.pt
var referenceCheckpoint []byte

// ReferenceCheckpoint returns a copy of the torch.save file of a RefNet-DWS
// (arch.RefNetDWS() with Input 1x28x28) trained in PyTorch by
// reference/qlab_models.py on MNIST — one epoch over the first 12,000
// training images, batch 32, SGD lr 0.05 momentum 0.9, seed 1 — the
// checkpoint notebook 08 analyses. Read parses it.
func ReferenceCheckpoint() []byte { return append([]byte(nil), referenceCheckpoint...) }
