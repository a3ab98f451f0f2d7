package convert

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
)

// loadTar reads torch's first checkpoint format (torch < 0.1.10), which
// gopickle does not: a tar archive of
//
//	storages: pickle(count), then per storage pickle((key, location, type))
//	          and int64 element count + raw little-endian data; then
//	          pickle(views), each (key, root key, offset, size)
//	tensors:  pickle(count), then per tensor pickle((key, storage key, type)),
//	          int32 ndim, 4 padding bytes, int64 sizes[ndim], int64
//	          strides[ndim], int64 storage offset
//	pickle:   the object, whose persistent ids are tensor keys as strings
func loadTar(path string) (any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	members := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tar archive: %w", err)
		}
		switch h.Name {
		case "storages", "tensors", "pickle":
			if members[h.Name], err = io.ReadAll(tr); err != nil {
				return nil, fmt.Errorf("tar member %s: %w", h.Name, err)
			}
		}
	}
	for _, name := range []string{"storages", "tensors", "pickle"} {
		if _, ok := members[name]; !ok {
			return nil, fmt.Errorf("tar checkpoint lacks its %q member", name)
		}
	}

	objects := map[string]any{} // key → storage or tensor
	r := bufio.NewReader(bytes.NewReader(members["storages"]))
	n, err := loadInt(r)
	if err != nil {
		return nil, fmt.Errorf("storages: %w", err)
	}
	for i := range n {
		t, err := loadTuple(r, 3)
		if err != nil {
			return nil, fmt.Errorf("storage %d: %w", i, err)
		}
		cls, ok := t.Get(2).(pytorch.StorageClassInterface)
		if !ok {
			return nil, fmt.Errorf("storage %d: type %v is not a torch storage", i, t.Get(2))
		}
		loc, _ := t.Get(1).(string)
		var numel int64
		if err := binary.Read(r, binary.LittleEndian, &numel); err != nil {
			return nil, fmt.Errorf("storage %d: %w", i, err)
		}
		if numel < 0 || numel > 1<<40 {
			return nil, fmt.Errorf("storage %d: bad element count %d", i, numel)
		}
		s := cls.New(int(numel), loc)
		if err := s.SetFromFileWithSize(fullReader{r}, int(numel)); err != nil {
			return nil, fmt.Errorf("storage %d: %w", i, err)
		}
		objects[keyString(t.Get(0))] = s
	}
	views, err := unpickleWith(r, nil)
	if err != nil {
		return nil, fmt.Errorf("storage views: %w", err)
	}
	if l, ok := views.(*types.List); ok && l.Len() > 0 {
		return nil, fmt.Errorf("storage views are not supported")
	}

	r = bufio.NewReader(bytes.NewReader(members["tensors"]))
	if n, err = loadInt(r); err != nil {
		return nil, fmt.Errorf("tensors: %w", err)
	}
	for i := range n {
		t, err := loadTuple(r, 3)
		if err != nil {
			return nil, fmt.Errorf("tensor %d: %w", i, err)
		}
		storage, ok := objects[keyString(t.Get(1))].(pytorch.StorageInterface)
		if !ok {
			return nil, fmt.Errorf("tensor %d: storage %v not found", i, t.Get(1))
		}
		var ndim int32
		var pad [4]byte
		if err := binary.Read(r, binary.LittleEndian, &ndim); err != nil {
			return nil, fmt.Errorf("tensor %d: %w", i, err)
		}
		if _, err := io.ReadFull(r, pad[:]); err != nil {
			return nil, fmt.Errorf("tensor %d: %w", i, err)
		}
		if ndim < 0 || ndim > 16 {
			return nil, fmt.Errorf("tensor %d: %d dimensions", i, ndim)
		}
		dims := make([]int64, 2*ndim+1) // sizes, strides, offset
		if err := binary.Read(r, binary.LittleEndian, dims); err != nil {
			return nil, fmt.Errorf("tensor %d: %w", i, err)
		}
		tensor := &pytorch.Tensor{Source: storage, StorageOffset: int(dims[2*ndim])}
		for d := range ndim {
			tensor.Size = append(tensor.Size, int(dims[d]))
			tensor.Stride = append(tensor.Stride, int(dims[ndim+d]))
		}
		objects[keyString(t.Get(0))] = tensor
	}

	return unpickleWith(bytes.NewReader(members["pickle"]), func(id any) (any, error) {
		if t, ok := id.(*types.Tuple); ok && t.Len() > 0 { // ('module', class, source, ...)
			return t.Get(0), nil
		}
		obj, ok := objects[keyString(id)]
		if !ok {
			return nil, fmt.Errorf("persistent id %v names no tensor", id)
		}
		return obj, nil
	})
}
