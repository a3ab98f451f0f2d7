package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/session"
	"github.com/crema-app/crema/model/transfer"
	"github.com/crema-app/crema/model/weights"
)

// A download: the page sends weights with stream and the manifest, then
// the binary in weights_part messages as it arrives. weights.Stream checks
// each tensor against its own SHA-256 as soon as its bytes are in. The
// session's network is rebuilt on the layers in so far when a run starts
// (a start that needs layers still on their way waits for them: a waiting
// message, then it starts when they are in) and when the download is
// complete, if no run is going then (else at the next start): never while
// a run uses it, and not at every layer (each rebuild uploads every layer
// again).
//
// Settings are checked against what the manifest holds, not against what
// has arrived: a layer still on its way is not missing. To use
// transfer's own check (Settings.Validate) and model's explanations
// (Net.Why) unchanged, the worker builds networks of the manifest's
// layers, and of the layers in so far, on a backend that stores nothing
// (shapeOnly): they answer which layers exist and nothing else.

// download is the weights download in progress (or done).
type download struct {
	st       *weights.Stream
	final    *model.Net // the manifest's layers, shapes only
	uploaded int        // layers of st in the session's network
	done     bool       // Finish succeeded
	failed   error      // the download cannot complete
}

// held is a start that waits for layers.
type held struct {
	id        int
	values    map[string]string
	fromStyle bool // content_from_style (control.go)
}

// beginDownload checks the manifest and prepares for its binary.
func (w *worker) beginDownload(manifest string) error {
	if w.busy() {
		return errors.New("wasm: cannot change the weights during a run; stop it first")
	}
	if w.sess == nil {
		if err := w.init("auto", nil); err != nil {
			return err
		}
	}
	st, err := weights.NewStream([]byte(manifest))
	if err != nil {
		return err
	}
	final, err := shapeNet(st.Manifest().Layers())
	if err != nil {
		return err
	}
	w.dropHeld("the weights were replaced")
	w.dl = &download{st: st, final: final}
	w.post(w.downloadInfo())
	return nil
}

// downloadPart takes the next bytes of the binary.
func (w *worker) downloadPart(b []byte) error {
	dl := w.dl
	if dl == nil || dl.done || dl.failed != nil {
		return errors.New("wasm: weights_part without a weights download in progress (send weights with stream first)")
	}
	arrived, err := dl.st.Write(b)
	if err == nil && dl.st.Received() == dl.st.Size() {
		_, err = dl.st.Finish()
		dl.done = err == nil
	}
	if err != nil {
		dl.failed = err
		w.dropHeld("the weights download failed")
		return err
	}
	if len(arrived) > 0 || dl.done {
		if dl.done {
			w.syncWeights()
		}
		w.post(w.downloadInfo())
		w.startHeld()
	}
	return nil
}

// downloading reports whether a download is under way (not all of its
// layers are in the session's network) and has not failed.
func (w *worker) downloading() bool {
	return w.dl != nil && w.dl.failed == nil && (!w.dl.done || w.dl.uploaded < len(w.dl.st.Layers()))
}

// syncWeights rebuilds the session's network on every layer in so far,
// unless a run is going (it uses the network) or nothing new is in.
func (w *worker) syncWeights() {
	dl := w.dl
	if dl == nil || w.busy() || w.sess == nil {
		return
	}
	layers := dl.st.Layers()
	if len(layers) == dl.uploaded {
		return
	}
	if err := w.sess.Load(dl.st.Partial()); err != nil {
		dl.failed = err
		w.fail(InWeights, 0, err)
		return
	}
	dl.uploaded = len(layers)
}

// downloadInfo is the weights message of the download: the layers in so
// far, and what the manifest lacks with the page's advice.
func (w *worker) downloadInfo() WeightsInfo {
	dl := w.dl
	m := dl.st.Manifest()
	wi := session.WeightsInfo{Layers: dl.st.Layers(), Unavailable: map[string]string{}, Source: m.Source, License: m.License}
	if wi.Layers == nil {
		wi.Layers = []string{}
	}
	for _, c := range model.Convs() {
		if why := dl.final.Why(c); why != "" {
			wi.Unavailable[c] = strings.TrimSuffix(why, ".") + moreWeights
		}
	}
	var pending []string
	for _, l := range m.Layers() {
		if !slices.Contains(wi.Layers, l) {
			pending = append(pending, l)
		}
	}
	return WeightsInfo{Type: OutWeights, WeightsInfo: wi, Bytes: int(dl.st.Received()), Size: dl.st.Size(),
		Pending: pending, Complete: dl.done}
}

// check is the settings' verdict: why they cannot run on the loaded
// weights ("" when they can), and, during a download, the layers they need
// that are not in yet.
func (w *worker) check(s transfer.Settings) (problem string, waiting []string) {
	if w.downloading() {
		if err := s.Validate(w.dl.final); err != nil {
			return err.Error(), nil
		}
		if waiting := w.needs(s); len(waiting) > 0 {
			return "", waiting
		}
		return "", nil
	}
	if w.sess != nil && w.sess.Net() != nil {
		if err := s.Validate(w.sess.Net()); err != nil {
			return err.Error(), nil
		}
	}
	return "", nil
}

// needs lists the layers s needs that the download has not brought yet:
// the fewest of the manifest's layers still to come, in network order,
// with which Validate accepts s.
func (w *worker) needs(s transfer.Settings) []string {
	have := w.dl.st.Layers()
	var pending []string
	for _, l := range w.dl.st.Manifest().Layers() {
		if !slices.Contains(have, l) {
			pending = append(pending, l)
		}
	}
	first := 0
	if len(have) == 0 {
		first = 1 // every pass needs a layer, even a tv-only run's
	}
	for k := min(first, len(pending)); k <= len(pending); k++ {
		net, err := shapeNet(append(slices.Clone(have), pending[:k]...))
		if err != nil {
			return pending
		}
		if s.Validate(net) == nil {
			return pending[:k]
		}
	}
	return pending
}

// bytesFor is the number of bytes of the binary after which layers are in.
func bytesFor(m weights.Manifest, layers []string) int64 {
	var end int64
	for _, t := range m.Tensors {
		layer, _, _ := strings.Cut(t.Name, ".")
		if slices.Contains(layers, layer) {
			end = max(end, t.Offset+t.Length)
		}
	}
	return end
}

// hold keeps a start that needs layers still downloading and says so.
func (w *worker) hold(id int, values map[string]string, fromStyle bool, waiting []string) {
	w.held = &held{id: id, values: values, fromStyle: fromStyle}
	w.post(Waiting{Type: OutWaiting, ID: id, Layers: waiting, Bytes: bytesFor(w.dl.st.Manifest(), waiting), Size: w.dl.st.Size()})
}

// startHeld starts the waiting start once its layers are in.
func (w *worker) startHeld() {
	h := w.held
	if h == nil {
		return
	}
	s, _ := parseSettings(h.values)
	if problem, waiting := w.check(s); problem == "" && len(waiting) > 0 {
		return
	}
	w.held = nil
	w.fail(InStart, h.id, w.start(h.id, h.values, h.fromStyle))
}

// dropHeld ends a waiting start with an error saying why.
func (w *worker) dropHeld(why string) {
	if h := w.held; h != nil {
		w.held = nil
		w.fail(InStart, h.id, fmt.Errorf("wasm: the run did not start: %s", why))
	}
}

// stopHeld ends a waiting start as a stop ends a run: done, stopped, with
// no image.
func (w *worker) stopHeld() bool {
	h := w.held
	if h == nil {
		return false
	}
	w.held = nil
	w.post(Frame{Type: OutDone, ID: h.id, Stopped: true, Pixels: []byte{}})
	return true
}

// shapeNet is a network that holds layers (convolutions) as shapes only:
// it can say which layers exist and why others cannot be computed, and
// nothing more.
func shapeNet(layers []string) (*model.Net, error) {
	return model.New(shapeOnly{}, layerShapes(layers))
}

// layerShapes is a WeightSource that has the tensors of layers, without
// values.
type layerShapes []string

func (l layerShapes) Tensor(name string) ([]float32, []int, bool) {
	layer, _, _ := strings.Cut(name, ".")
	if !slices.Contains(l, layer) {
		return nil, nil, false
	}
	shape, ok := weights.TensorShape(name)
	return nil, shape, ok
}

func (layerShapes) Preprocess() weights.Preprocess { return weights.Caffe }
func (layerShapes) Info() (string, string)         { return "", "" }

// shapeOnly is a kernels.Backend that stores nothing: model.New can build a
// network on it, and only its Alloc, Write and Free are ever called.
type shapeOnly struct{ kernels.Backend }

type emptyTensor struct{}

func (emptyTensor) Len() int { return 0 }

func (shapeOnly) Name() string                      { return "shapes" }
func (shapeOnly) Describe() string                  { return "shapes only" }
func (shapeOnly) Alloc(int) (kernels.Tensor, error) { return emptyTensor{}, nil }
func (shapeOnly) Write(kernels.Tensor, []float32)   {}
func (shapeOnly) Free(kernels.Tensor)               {}
