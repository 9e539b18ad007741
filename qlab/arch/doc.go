// Package arch provides the architectures of the qlab study as plain spec
// structs that build nn.Models: VGG-like networks of regular or
// depthwise-separable blocks (VGGSpec, with RefNetS and RefNetDWS, the
// project's reference networks), basic-block residual networks
// (ResNetSpec), MobileNetV2 inverted-bottleneck networks (MobileNetV2Spec)
// and small MobileNetV1-style depthwise-separable CNNs (MobileNetV1Spec).
//
// A spec is data: every field has a documented zero-value default, and the
// structs carry JSON and YAML tags so a sweep can store the exact network
// of a trial. Each spec has a Build method, and Build(spec) is the one entry
// point; both return a model whose weights are drawn with the spec's Init
// (zero value: Glorot uniform, the Keras default) and Seed, through
// nn.Model.Initialize, so the same spec always gives the same weights.
//
// # Layer names
//
// Names are stable and readable, so analysis tables, plots and
// per-parameter seeds (initializers.SeedFor) key on them:
//
//	stem/conv, stem/conv/bn, stem/conv/relu     the first (always regular) conv unit
//	blockK/conv, blockK/conv/bn, blockK/conv/relu
//	                                            K-th regular conv unit after the stem (VGG)
//	blockK/dw, blockK/dw/bn, blockK/dw/relu,    K-th depthwise-separable unit: depthwise
//	blockK/pw, blockK/pw/bn, blockK/pw/relu     3x3, then pointwise 1x1 (VGG, MobileNetV1)
//	poolS                                       max pool 2 ending stage S (VGG)
//	blockK/conv1[/bn|/relu], blockK/conv2[/bn], residual block K (ResNet); the block
//	blockK/shortcut[/bn], blockK/add,           itself is the nn.Residual "blockK"
//	blockK/relu
//	blockK/expand[/bn|/relu6], blockK/dw[...],  inverted bottleneck K (MobileNetV2);
//	blockK/project[/bn], blockK/add             "blockK" is an nn.Residual when it has a skip
//	head/conv[/bn|/relu6]                       MobileNetV2's final 1x1 conv
//	head/gap, head/dropout, head/fc             classifier head
//
// Activation leaves are named for their function ("relu" or "relu6"),
// "/bn" leaves exist only when BatchNorm is set, and "head/dropout" only
// when Dropout > 0. Blocks are numbered from 1 across the whole network,
// stages from 1. Parameters are "<layer>/weight", "<layer>/bias",
// "<layer>/gamma", ... as package nn names them.
//
// Boundary: arch decides topology, widths, names and initialization; the
// layers themselves (and their numerics) are package nn's, the schemes
// package initializers'.
package arch
