package convert

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"os"
	"path"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
)

// The checkpoint readers below use gopickle's unpickler and tensor types but
// do their own file handling, so that every read of tensor data is a full
// read: a short or truncated file is an error, never silently wrong values.

// loadCheckpoint unpickles the checkpoint at path in the given format,
// turning panics in the unpickler into errors.
func loadCheckpoint(path, format string) (obj any, err error) {
	defer func() {
		if r := recover(); r != nil {
			obj, err = nil, fmt.Errorf("unsupported checkpoint: %v", r)
		}
	}()
	switch format {
	case formatZip:
		return loadZip(path)
	case formatTar:
		return loadTar(path)
	}
	return loadLegacy(path)
}

// loadZip reads torch's zip format (torch >= 1.6): DIR/data.pkl holds the
// pickle, whose persistent ids ('storage', type, key, location, numel) name
// the records DIR/data/KEY holding each storage's raw bytes.
func loadZip(name string) (any, error) {
	z, err := zip.OpenReader(name)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	records := map[string]*zip.File{}
	var dataPkl *zip.File
	for _, f := range z.File {
		records[f.Name] = f
		switch path.Base(f.Name) {
		case "data.pkl":
			dataPkl = f
		case "constants.pkl":
			return nil, fmt.Errorf("this is a TorchScript archive, not a state dict saved with torch.save")
		}
	}
	if dataPkl == nil {
		return nil, fmt.Errorf("zip archive has no data.pkl: not a torch.save checkpoint")
	}
	dir := path.Dir(dataPkl.Name)
	loaded := map[string]pytorch.StorageInterface{}
	persistent := func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() != 5 || t.Get(0) != "storage" {
			return nil, fmt.Errorf("unexpected persistent id %v", id)
		}
		cls, ok1 := t.Get(1).(pytorch.StorageClassInterface)
		key, ok2 := t.Get(2).(string)
		loc, ok3 := t.Get(3).(string)
		numel, ok4 := t.Get(4).(int)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, fmt.Errorf("unexpected storage id %v", id)
		}
		if s, ok := loaded[key]; ok {
			return s, nil
		}
		rec, ok := records[dir+"/data/"+key]
		if !ok {
			return nil, fmt.Errorf("storage record %s/data/%s is missing", dir, key)
		}
		rc, err := rec.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		s := cls.New(numel, loc)
		if err := s.SetFromFileWithSize(fullReader{rc}, numel); err != nil {
			return nil, fmt.Errorf("storage %s: %w", key, err)
		}
		loaded[key] = s
		return s, nil
	}
	rc, err := dataPkl.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return unpickleWith(bufio.NewReader(rc), persistent)
}

// legacyMagic is the number torch's legacy format starts with.
const legacyMagic = "1950a86a20f9469cfc6c"

// loadLegacy reads torch's legacy format (torch 0.1.10 - 1.5): pickles of
// the magic number, the protocol version 1001 and system information, the
// object (persistent ids ('storage', type, key, location, numel, view)),
// the list of storage keys, then per key an int64 element count and the
// storage's raw bytes.
func loadLegacy(name string) (any, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	magic, err := unpickleWith(r, nil)
	if n, ok := magic.(*big.Int); err != nil || !ok || n.Text(16) != legacyMagic {
		return nil, fmt.Errorf("not a torch checkpoint: bad magic number (%v)", orValue(err, magic))
	}
	version, err := unpickleWith(r, nil)
	if err != nil || version != 1001 {
		return nil, fmt.Errorf("unsupported torch checkpoint protocol %v", orValue(err, version))
	}
	info, err := unpickleWith(r, nil)
	if err != nil {
		return nil, err
	}
	if d, ok := info.(*types.Dict); ok {
		if le, ok := d.Get("little_endian"); ok && le == false {
			return nil, fmt.Errorf("big-endian checkpoints are not supported")
		}
	}
	storages := map[string]pytorch.StorageInterface{}
	obj, err := unpickleWith(r, func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() == 0 {
			return nil, fmt.Errorf("unexpected persistent id %v", id)
		}
		switch t.Get(0) {
		case "module": // ('module', class, source file, source)
			return t.Get(1), nil
		case "storage":
		default:
			return nil, fmt.Errorf("unexpected persistent id %v", id)
		}
		if t.Len() != 6 {
			return nil, fmt.Errorf("unexpected storage id %v", id)
		}
		cls, ok1 := t.Get(1).(pytorch.StorageClassInterface)
		key := keyString(t.Get(2))
		loc, ok2 := t.Get(3).(string)
		numel, ok3 := t.Get(4).(int)
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("unexpected storage id %v", id)
		}
		if t.Get(5) != nil {
			return nil, fmt.Errorf("storage views are not supported")
		}
		s, ok := storages[key]
		if !ok {
			s = cls.New(numel, loc)
			storages[key] = s
		}
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	keys, err := unpickleWith(r, nil)
	if err != nil {
		return nil, fmt.Errorf("storage keys: %w", err)
	}
	list, ok := keys.(*types.List)
	if !ok {
		return nil, fmt.Errorf("storage keys are a %T, not a list", keys)
	}
	for _, k := range *list {
		s, ok := storages[keyString(k)]
		if !ok {
			return nil, fmt.Errorf("storage %v is listed but not used", k)
		}
		var numel int64
		if err := binary.Read(r, binary.LittleEndian, &numel); err != nil {
			return nil, fmt.Errorf("storage %v: %w", k, err)
		}
		if numel < 0 || numel > 1<<40 {
			return nil, fmt.Errorf("storage %v: bad element count %d", k, numel)
		}
		if err := s.SetFromFileWithSize(fullReader{r}, int(numel)); err != nil {
			return nil, fmt.Errorf("storage %v: %w", k, err)
		}
	}
	return obj, nil
}

func orValue(err error, v any) any {
	if err != nil {
		return err
	}
	return v
}

// fullReader makes every Read fill its buffer or fail: gopickle's storage
// readers take a single Read's bytes as complete.
type fullReader struct{ r io.Reader }

func (f fullReader) Read(p []byte) (int, error) {
	n, err := io.ReadFull(f.r, p)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// unpickleWith unpickles one object from r, resolving torch's names, with
// persistent ids resolved by persistent.
func unpickleWith(r io.Reader, persistent func(any) (any, error)) (any, error) {
	u := pickle.NewUnpickler(r)
	u.FindClass = findClass
	u.PersistentLoad = persistent
	return u.Load()
}

// findClass resolves the torch names a VGG checkpoint refers to.
func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2": // torch 0.4 and later
		return &pytorch.RebuildTensorV2{}, nil
	case "torch._utils._rebuild_tensor": // torch 0.1.10 - 0.3
		return rebuildTensorV1{}, nil
	case "torch._utils._rebuild_parameter": // nn.Parameter
		return rebuildParameter{}, nil
	case "torch.FloatStorage":
		return &pytorch.FloatStorageClass{}, nil
	case "torch.HalfStorage":
		return &pytorch.HalfStorageClass{}, nil
	case "torch.DoubleStorage":
		return &pytorch.DoubleStorageClass{}, nil
	case "torch.BFloat16Storage":
		return &pytorch.BFloat16StorageClass{}, nil
	}
	if module == "torch" && strings.HasSuffix(name, "Storage") {
		return nil, fmt.Errorf("%s.%s: VGG weights must be floating point", module, name)
	}
	return types.NewGenericClass(module, name), nil
}

func loadInt(r io.Reader) (int, error) {
	v, err := unpickleWith(r, nil)
	if err != nil {
		return 0, err
	}
	n, ok := v.(int)
	if !ok || n < 0 {
		return 0, fmt.Errorf("count %v is not a non-negative int", v)
	}
	return n, nil
}

func loadTuple(r io.Reader, n int) (*types.Tuple, error) {
	v, err := unpickleWith(r, nil)
	if err != nil {
		return nil, err
	}
	t, ok := v.(*types.Tuple)
	if !ok || t.Len() != n {
		return nil, fmt.Errorf("record %v is not a %d-tuple", v, n)
	}
	return t, nil
}

// keyString normalises storage and tensor keys, which are ints in some
// places of the older formats and strings in others.
func keyString(k any) string {
	switch k := k.(type) {
	case string:
		return k
	case int:
		return fmt.Sprint(k)
	case *big.Int:
		return k.String()
	}
	return fmt.Sprintf("%v", k)
}

type rebuildTensorV1 struct{}

func (rebuildTensorV1) Call(args ...any) (any, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("_rebuild_tensor: %d arguments, want 4", len(args))
	}
	// _rebuild_tensor_v2 takes the same four first, then requires_grad and hooks.
	return (&pytorch.RebuildTensorV2{}).Call(args[0], args[1], args[2], args[3], false, nil)
}

type rebuildParameter struct{}

func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("_rebuild_parameter: no arguments")
	}
	return args[0], nil
}
