// Package weights reads, validates and writes crema's weight format: a JSON
// manifest (vgg19.json) beside one little-endian binary (vgg19.bin).
//
// The manifest names every tensor ("conv1_1.weight" [Cout, Cin, 3, 3] in
// OIHW order, "conv1_1.bias" [Cout]), with its dtype, byte offset and length
// in the binary and (since version 2) the SHA-256 of its bytes, the input
// preprocessing the network was trained with, the source and licence text,
// and the SHA-256 and size of the binary. A file may hold only some layers
// (a prefix of VGG-19, or any subset): loading reports which exist.
//
// Dtypes: float32, float16 (IEEE half), and int8 (version 2, weights only):
// the tensor's bytes are its Cout float32 scales, one per output channel,
// followed by its Cout·Cin·3·3 values as signed bytes in [-127, 127]; a value
// is q·scale[o]. Every dtype is decoded to float32 on load.
//
// Write lays the tensors out in network order (conv1_1.weight, conv1_1.bias,
// conv1_2.weight, …) and aligns each to 16 bytes, so Parse uses float32 data
// in place (no copy) on little-endian machines, WebAssembly included, and a
// reader of a download (Stream) can use each layer as soon as its bytes are
// in, checked against its own SHA-256, long before the whole binary has
// arrived. Loading checks everything a damaged or mismatched file can get
// wrong (size, SHA-256 of the binary and of each tensor, tensor names,
// shapes against VGG-19, bounds, overlaps, pairs of weight and bias, NaN/Inf,
// int8 scales and range, preprocessing) and names the problem in its error.
//
// Version 1 manifests (no per-tensor SHA-256, no int8) are still read.
package weights

import "fmt"

// FormatName is the value of Manifest.Format.
const FormatName = "crema-weights"

// Version is the manifest version this package writes. It reads it and
// every earlier one (MinVersion on).
const Version = 2

// MinVersion is the oldest manifest version this package reads.
const MinVersion = 1

// Encoding is how Write stores the values of the tensors.
type Encoding int

const (
	Float32 Encoding = iota // every tensor float32
	Float16                 // every tensor IEEE half precision
	// Int8 stores each weight as int8 with a float32 scale per output
	// channel (a quarter of float32's size) and keeps the biases float32.
	Int8
)

// String is the dtype name the encoding writes for weights.
func (e Encoding) String() string {
	switch e {
	case Float32:
		return "float32"
	case Float16:
		return "float16"
	case Int8:
		return "int8"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// Pack is one of the page's weight packs: only the layers the page can use
// (up to transfer.PageDeepest()), written by `make weights` and `make run`
// into a folder of the weights folder, and loaded by the page (?pack=NAME).
type Pack struct {
	Name     string   // "f16": the page's URL parameter and the make variable's word
	Encoding Encoding // how its tensors are stored
	What     string   // for people: "float16"
}

// Packs are the page's packs, the default first.
var Packs = []Pack{
	{Name: "f16", Encoding: Float16, What: "float16"},
	{Name: "q8", Encoding: Int8, What: "8-bit (int8 weights with a float32 scale per output channel)"},
}

// DefaultPack is the pack the page loads unless told otherwise.
var DefaultPack = Packs[0]

// PackDir is the folder, inside a weights folder, of the pack called name
// ("f16" → "pack-f16"); the page loads PackDir(name)/vgg19.json.
func PackDir(name string) string { return "pack-" + name }

// Dir is the pack's folder inside a weights folder: PackDir(p.Name).
func (p Pack) Dir() string { return PackDir(p.Name) }

// LookupPack returns the pack called name.
func LookupPack(name string) (Pack, bool) {
	for _, p := range Packs {
		if p.Name == name {
			return p, true
		}
	}
	return Pack{}, false
}

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
	DType  string `json:"dtype"`  // "float32", "float16" or "int8"
	Offset int64  `json:"offset"` // bytes from the start of the binary
	Length int64  `json:"length"` // bytes
	// SHA256 is the hex SHA-256 of the tensor's Length bytes (version 2 on),
	// so that each tensor of a download is checked as soon as it is in.
	SHA256 string `json:"sha256,omitempty"`
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
