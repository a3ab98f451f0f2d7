#!/usr/bin/env python3
"""Write tiny PyTorch checkpoints of VGG-19's first two convolutions without torch.

Usage: make_pth.py OUTDIR

torch.save pickles an OrderedDict of tensors; each tensor pickles as a call
torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
hooks), and each storage as a persistent id ('storage', torch.FloatStorage,
key, location, numel[, view]) whose bytes live outside the pickle. This
script stands in fake `torch` modules so the standard pickle module writes the
same opcodes, then lays the pieces out as torch does:

  zip.pth        torch >= 1.6: a zip with archive/data.pkl, archive/data/KEY
  legacy.pth     torch 0.4 - 1.5: magic number, protocol 1001, sys info,
                 the pickle, the storage keys, then each storage's bytes
  legacy_v1.pth  torch 0.1.10 - 0.3: as legacy.pth, with _rebuild_tensor
  tar.pth        torch < 0.1.10: a tar of members storages (records and raw
                 bytes), tensors (records, sizes, strides, offsets) and pickle
                 (the object, tensors as persistent ids)

The tensors exercise what real files hold: a weight and bias sharing one
storage at offsets, a weight stored transposed (non-contiguous strides), a
half-precision bias, an nn.Parameter, and classifier tensors to be ignored.
OUTDIR/expected.json holds every VGG value, flattened in OIHW order, as the
converter must produce it.
"""

import collections
import json
import pickle
import random
import struct
import sys
import types
import zipfile

# ---- stand-ins for the torch names the pickle refers to ----
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


def _named(module, obj, name):
    obj.__module__ = module.__name__
    obj.__qualname__ = obj.__name__ = name
    setattr(module, name, obj)
    return obj


FloatStorage = _named(torch, type("FloatStorage", (), {}), "FloatStorage")
HalfStorage = _named(torch, type("HalfStorage", (), {}), "HalfStorage")
FloatTensor = _named(torch, type("FloatTensor", (), {}), "FloatTensor")
rebuild_v2 = _named(torch_utils, lambda *a: None, "_rebuild_tensor_v2")
rebuild_v1 = _named(torch_utils, lambda *a: None, "_rebuild_tensor")
rebuild_param = _named(torch_utils, lambda *a: None, "_rebuild_parameter")


class Storage:
    def __init__(self, cls, key, values):
        self.cls, self.key, self.values = cls, key, values

    def raw(self):
        fmt = "<%d%s" % (len(self.values), "f" if self.cls is FloatStorage else "e")
        return struct.pack(fmt, *self.values)


class Tensor:
    v1 = False  # pickle with torch 0.1.10-0.3's _rebuild_tensor

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __reduce_ex__(self, proto):
        if Tensor.v1:
            return (rebuild_v1, (self.storage, self.offset, self.size, self.stride))
        return (rebuild_v2, (self.storage, self.offset, self.size, self.stride, False, collections.OrderedDict()))


class Parameter:
    def __init__(self, data):
        self.data = data

    def __reduce_ex__(self, proto):
        return (rebuild_param, (self.data, True, collections.OrderedDict()))


class Pickler(pickle.Pickler):
    legacy = False

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        pid = ("storage", obj.cls, obj.key, "cpu", len(obj.values))
        return pid + (None,) if self.legacy else pid


def contiguous_stride(size):
    stride, acc = [], 1
    for d in reversed(size):
        stride.insert(0, acc)
        acc *= d
    return tuple(stride)


def build(rng):
    """Returns the state dict, its storages in order and the expected values."""
    g = lambda n: [round(rng.gauss(0, 0.1), 6) for _ in range(n)]
    expected = {}

    # conv1_1: weight [64,3,3,3] at offset 10 and bias [64] at offset 1743 of one storage.
    w11, b11 = g(64 * 3 * 9), g(64)
    shared = Storage(FloatStorage, "0", g(10) + w11 + g(5) + b11 + g(3))
    expected["conv1_1.weight"], expected["conv1_1.bias"] = w11, b11

    # conv1_2.weight [64,64,3,3] stored as HWIO, so its OIHW view has strides (1, 64, 12288, 4096).
    hwio = g(3 * 3 * 64 * 64)
    oihw = [0.0] * len(hwio)
    for o in range(64):
        for i in range(64):
            for h in range(3):
                for w in range(3):
                    oihw[((o * 64 + i) * 3 + h) * 3 + w] = hwio[((h * 3 + w) * 64 + i) * 64 + o]
    transposed = Storage(FloatStorage, "1", hwio)
    expected["conv1_2.weight"] = oihw

    # conv1_2.bias in half precision; expected values are the halves' exact values.
    b12 = [struct.unpack("<e", struct.pack("<e", v))[0] for v in g(64)]
    half = Storage(HalfStorage, "2", b12)
    expected["conv1_2.bias"] = b12

    fc = Storage(FloatStorage, "3", g(6 + 2))

    sd = collections.OrderedDict()
    sd["features.0.weight"] = Tensor(shared, 10, (64, 3, 3, 3), contiguous_stride((64, 3, 3, 3)))
    sd["features.0.bias"] = Tensor(shared, 10 + len(w11) + 5, (64,), (1,))
    sd["features.2.weight"] = Parameter(Tensor(transposed, 0, (64, 64, 3, 3), (1, 64, 12288, 4096)))
    sd["features.2.bias"] = Tensor(half, 0, (64,), (1,))
    sd["classifier.0.weight"] = Tensor(fc, 0, (2, 3), (3, 1))
    sd["classifier.0.bias"] = Tensor(fc, 6, (2,), (1,))
    return sd, [shared, transposed, half, fc], expected


def dumps(obj, legacy):
    import io

    buf = io.BytesIO()
    p = Pickler(buf, protocol=2)
    p.legacy = legacy
    p.dump(obj)
    return buf.getvalue()


def write_zip(path, sd, storages):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", dumps(sd, False))
        z.writestr("archive/byteorder", "little")
        for s in storages:
            z.writestr("archive/data/" + s.key, s.raw())
        z.writestr("archive/version", "3\n")


def write_legacy(path, sd, storages):
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    with open(path, "wb") as f:
        pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump(sys_info, f, protocol=2)
        f.write(dumps(sd, True))
        pickle.dump([s.key for s in storages], f, protocol=2)
        for s in storages:
            f.write(struct.pack("<q", len(s.values)))
            f.write(s.raw())


class TarPickler(pickle.Pickler):
    """The tar format's pickle: tensors are persistent ids, str(key)."""

    def persistent_id(self, obj):
        if isinstance(obj, Tensor):
            return str(self.keys[id(obj)])
        return None


def write_tar(path, sd, storages):
    import io
    import tarfile

    sd = collections.OrderedDict((k, v.data if isinstance(v, Parameter) else v) for k, v in sd.items())
    skeys = {id(s): 1000 + i for i, s in enumerate(storages)}
    tensors = list(sd.values())
    tkeys = {id(t): 2000 + i for i, t in enumerate(tensors)}

    st = io.BytesIO()
    pickle.dump(len(storages), st, protocol=2)
    for s in storages:
        pickle.dump((skeys[id(s)], "cpu", s.cls), st, protocol=2)
        st.write(struct.pack("<q", len(s.values)))
        st.write(s.raw())
    pickle.dump([], st, protocol=2)  # storage views

    te = io.BytesIO()
    pickle.dump(len(tensors), te, protocol=2)
    for t in tensors:
        pickle.dump((tkeys[id(t)], skeys[id(t.storage)], FloatTensor), te, protocol=2)
        n = len(t.size)
        te.write(struct.pack("<i4x", n))
        te.write(struct.pack("<%dq" % n, *t.size))
        te.write(struct.pack("<%dq" % n, *t.stride))
        te.write(struct.pack("<q", t.offset))

    pk = io.BytesIO()
    p = TarPickler(pk, protocol=2)
    p.keys = tkeys
    p.dump(sd)

    sys_info = io.BytesIO()
    pickle.dump({"protocol_version": 1000, "little_endian": True}, sys_info, protocol=2)
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, buf in [("sys_info", sys_info), ("pickle", pk), ("tensors", te), ("storages", st)]:
            info = tarfile.TarInfo(name)
            info.size = len(buf.getvalue())
            tar.addfile(info, io.BytesIO(buf.getvalue()))


def main():
    out = sys.argv[1]
    sd, storages, expected = build(random.Random(19))
    write_zip(out + "/zip.pth", sd, storages)
    write_legacy(out + "/legacy.pth", sd, storages)
    write_tar(out + "/tar.pth", sd, storages)
    Tensor.v1 = True
    write_legacy(out + "/legacy_v1.pth", sd, storages)
    with open(out + "/expected.json", "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
