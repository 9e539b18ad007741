// Package qlab is the root of the qlab library, a laboratory for studying how
// CNN design choices, weight initialization first, shape the behaviour of
// int8-quantized networks. It holds no code of its own; the work is split by
// what each package provides:
//
//   - tensor: the float32 NCHW Tensor every package passes around;
//   - nn: layers (nouns) with explicit forward and backward passes, the
//     Model that chains them, the loss;
//   - initializers: every common weight initialization scheme, seeded;
//   - arch: the study's architectures built from plain spec structs
//     (VGG-like regular or depthwise-separable, ResNet, MobileNetV1/V2,
//     RefNet-S, RefNet-DWS);
//   - data: MNIST (embedded), Fashion-MNIST, CIFAR-10, and the seeded Loader;
//   - train: optimizers, schedules, Fit, Evaluate, checkpoints, progress;
//   - quant: quantization schemes, calibrators, BN folding, fake-quant
//     evaluation, the integer-only path, quantization-aware training;
//   - analysis: layerwise statistics and quantization error as tables;
//   - figures: publication figures drawn with gonum/plot;
//   - sweep: the ablation grid, run locally or on Slurm, and its statistics;
//   - torchio: PyTorch state_dicts in and out (torch.save and safetensors),
//     with reference torch.nn definitions of every architecture.
//
// The example below is the study in miniature; the notebooks under
// notebooks/ run it step by step.
package qlab
