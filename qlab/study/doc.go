// Package study is the notebooks' layer over the qlab library: the steps
// every notebook of the initialization study repeats, done once.
//
// Setup names a training setup the way the notebooks' parameters cells do
// (dataset, subset sizes, VGG-like stages and block, SGD settings, seed);
// Setup.Train loads the data with data.Load and trains one network per
// initializer — or loads it from the model cache. Train is the same for any
// arch.Spec: its cache is content-addressed, keyed by the SHA-256 of the
// full configuration (spec type and fields but the name, the training
// configuration but what only observes or checkpoints, the training and
// test images and labels, CacheFormat and the module version), so a
// notebook re-run, a later notebook asking for the same network, or a
// qlab/sweep trial (sweep.Options.Models) gets the bit-identical trained
// weights and history without training.
// Entries are written atomically and checksummed; a corrupt or unreadable
// entry is reported on CacheOptions.Log and the model retrained.
//
// Results come back as plain data that turns into figure inputs: Models
// gives training curves (figures.Run) and analysis.Table values whose
// columns each function documents; Evaluate measures FP32 and quantized
// accuracy of every model under named quantization schemes as one table;
// Bars turns any table into figures.AccuracyBar rows.
//
// Boundary: study composes data, arch, train, quant, analysis and figures;
// it adds no numerics of its own (training, quantization and statistics
// stay in those packages) and never imports the kernel. Check is the one
// notebook convenience: it panics, which stops a cell.
package study
