// Package weights reads, validates and writes crema's weight format: a JSON
// manifest (vgg19.json) beside one little-endian binary (vgg19.bin).
//
// The manifest names every tensor ("conv1_1.weight" [Cout, Cin, 3, 3] in
// OIHW order, "conv1_1.bias" [Cout]), with its dtype (float32 or float16),
// byte offset and length in the binary, the input preprocessing the network
// was trained with, the source and licence text, and the SHA-256 and size of
// the binary. A file may hold only some layers (a prefix of VGG-19, or any
// subset): loading reports which exist.
//
// Write aligns every tensor to 16 bytes, so Parse uses float32 data in place
// (no copy) on little-endian machines, WebAssembly included. Loading checks
// everything a damaged or mismatched file can get wrong (size, SHA-256,
// tensor names, shapes against VGG-19, bounds, overlaps, pairs of weight and
// bias, NaN/Inf, preprocessing) and names the problem in its error.
package weights

// PackDir is the folder, inside a weights folder, of the page's weight pack
// (float16, only the layers the page can use); the page loads
// PackDir/vgg19.json by default, `make weights` and `make run` write it.
const PackDir = "pack-f16"

// FormatName is the value of Manifest.Format.
const FormatName = "crema-weights"

// Version is the manifest version this package writes and reads.
const Version = 1

// Preprocess maps an RGB pixel p in [0, 1] to the network input:
// in[c] = (p[order[c]]·Scale − Mean[c]) / Std[c], where order is RGB or BGR.
// Mean and Std are listed in the network's channel order.
type Preprocess struct {
	ChannelOrder string     `json:"channel_order"` // "RGB" or "BGR"
	Scale        float32    `json:"scale"`         // 255 for Caffe/Keras, 1 for torchvision
	Mean         [3]float32 `json:"mean"`
	Std          [3]float32 `json:"std"`
}

// Caffe is the preprocessing of the Caffe and Keras VGG weights.
var Caffe = Preprocess{ChannelOrder: "BGR", Scale: 255, Mean: [3]float32{103.939, 116.779, 123.68}, Std: [3]float32{1, 1, 1}}

// Torchvision is the preprocessing of torchvision's ImageNet weights.
var Torchvision = Preprocess{ChannelOrder: "RGB", Scale: 1, Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}

// TensorInfo locates one tensor in the binary.
type TensorInfo struct {
	Name   string `json:"name"`   // "conv1_1.weight", "conv1_1.bias", ...
	Shape  []int  `json:"shape"`  // OIHW for weights
	DType  string `json:"dtype"`  // "float32" or "float16"
	Offset int64  `json:"offset"` // bytes from the start of the binary
	Length int64  `json:"length"` // bytes
}

// Manifest is the JSON file.
type Manifest struct {
	Format     string       `json:"format"`  // FormatName
	Version    int          `json:"version"` // Version
	Model      string       `json:"model"`   // "vgg19"
	Source     string       `json:"source"`  // where the weights came from
	License    string       `json:"license"` // licence text or name
	Binary     string       `json:"binary"`  // file name of the binary, beside the manifest
	SHA256     string       `json:"sha256"`  // hex SHA-256 of the binary
	Size       int64        `json:"size"`    // bytes of the binary
	Preprocess Preprocess   `json:"preprocess"`
	Tensors    []TensorInfo `json:"tensors"`
}

// Weights is a validated, decoded weights file.
type Weights struct {
	Manifest Manifest
	tensors  map[string]tensor
}

type tensor struct {
	data  []float32 // decoded to float32
	shape []int
}

// Tensor returns the decoded tensor called name and its shape.
func (w *Weights) Tensor(name string) (data []float32, shape []int, ok bool) {
	t, ok := w.tensors[name]
	return t.data, t.shape, ok
}
