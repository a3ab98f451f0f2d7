// Package tfjsref checks crema against an independent implementation of
// VGG-19: TensorFlow.js. main.mjs (run by node, `make testdata-tfjs`) computes
// conv1_1 … conv3_4 features and two input gradients with tfjs on the real
// Keras weights in ../shared/weights/vgg19-keras-conv1-3 and writes a small
// fixture into testdata/; the test in this package converts the same weights
// with crema's own converter (tools/internal/convert), runs model.Pass on the
// CPU backends and compares (max |diff| / max |ref| < 1e-4).
//
// The test lives here rather than in model/ because the converter is internal
// to tools/, and the point is to check converter and network together.
package tfjsref
