"""Read a PyTorch state dict in the legacy (non-zip) serialization, without torch.

The legacy ``.pth`` layout: four pickles (a magic number, the protocol
version, system info, then the state dict, whose tensors point to storages
through persistent ids), a fifth pickle listing the storage keys, then for
each key an 8-byte little-endian element count and the raw little-endian
data. Tensors are rebuilt from (storage, offset, size, stride).

The unpickler is restricted: it resolves only ``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2`` and the float/long storage types (to
inert placeholders), and refuses every other global, so a downloaded file
cannot run code.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct

import numpy as np

__all__ = ["read_legacy_state_dict", "TorchFileError", "LEGACY_MAGIC"]

#: The first pickle of every legacy torch file.
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {"FloatStorage": np.dtype("<f4"), "LongStorage": np.dtype("<i8"),
                   "DoubleStorage": np.dtype("<f8"), "IntStorage": np.dtype("<i4"),
                   "HalfStorage": np.dtype("<f2")}


class TorchFileError(ValueError):
    """The file is not a legacy PyTorch state dict this reader accepts."""


class _StorageType:
    def __init__(self, name):
        self.dtype = _STORAGE_DTYPES[name]


class _TensorRef:
    """A tensor still to be cut out of its storage."""

    def __init__(self, storage, offset, size, stride, *_ignored):
        self.key, self.offset, self.size, self.stride = storage, int(offset), tuple(size), tuple(stride)


def _rebuild_tensor_v2(storage, offset, size, stride, *rest):
    return _TensorRef(storage, offset, size, stride)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, f, path, storages=None):
        super().__init__(f)
        self.path, self.storages = path, storages

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise TorchFileError(f"{self.path}: refuses to unpickle {module}.{name} (only a plain state dict "
                             "of tensors is accepted)")

    def persistent_load(self, pid):
        if self.storages is None or not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                                         and isinstance(pid[1], _StorageType)):
            raise TorchFileError(f"{self.path}: unexpected persistent id {pid!r:.80}")
        _, stype, key, _location, numel = pid[:5]
        self.storages.setdefault(str(key), (stype.dtype, int(numel)))
        return str(key)


def read_legacy_state_dict(path, skip_suffixes=("num_batches_tracked",)) -> dict:
    """The tensors of a legacy ``.pth`` state dict as float32/int64 numpy arrays.

    Parameters
    ----------
    path : path-like
    skip_suffixes : tuple of str
        Entries whose names end with one of these are left out.

    Returns
    -------
    dict of str -> ndarray, in the file's order.

    Raises
    ------
    TorchFileError
        Not a legacy state dict (a zip-format file, a truncated file, other
        pickled objects), with the file named.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    f = io.BytesIO(data)
    try:
        magic = _RestrictedUnpickler(f, path).load()
        if magic != LEGACY_MAGIC:
            raise TorchFileError(f"{path}: not a legacy PyTorch file (first pickle {magic!r:.40})")
        _RestrictedUnpickler(f, path).load()  # protocol version
        info = _RestrictedUnpickler(f, path).load()
        if not info.get("little_endian", True):
            raise TorchFileError(f"{path}: big-endian PyTorch files are not supported")
        storages: dict = {}
        state = _RestrictedUnpickler(f, path, storages).load()
        keys = _RestrictedUnpickler(f, path).load()
    except TorchFileError:
        raise
    except Exception as e:  # truncated pickles, zip-format files, ...
        raise TorchFileError(f"{path}: cannot be read as a legacy PyTorch state dict ({type(e).__name__}: "
                             f"{e})") from e
    if not isinstance(state, dict) or not isinstance(keys, list):
        raise TorchFileError(f"{path}: does not hold a state dict")
    pos = f.tell()
    arrays = {}
    for key in keys:
        dtype, numel = storages[str(key)]
        if pos + 8 > len(data):
            raise TorchFileError(f"{path}: truncated (storage {key} missing)")
        (count,) = struct.unpack_from("<q", data, pos)
        end = pos + 8 + count * dtype.itemsize
        if count != numel or end > len(data):
            raise TorchFileError(f"{path}: storage {key} damaged or truncated ({count} of {numel} elements)")
        arrays[str(key)] = np.frombuffer(data, dtype=dtype, count=count, offset=pos + 8)
        pos = end
    out = {}
    for name, ref in state.items():
        if any(name.endswith(s) for s in skip_suffixes):
            continue
        if not isinstance(ref, _TensorRef):
            raise TorchFileError(f"{path}: entry {name} is not a tensor")
        buf = arrays[ref.key]
        need = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride)) + 1
        if need > len(buf) and all(ref.size):
            raise TorchFileError(f"{path}: entry {name} reaches past its storage")
        view = np.lib.stride_tricks.as_strided(buf[ref.offset:], shape=ref.size,
                                               strides=[s * buf.itemsize for s in ref.stride])
        out[name] = np.array(view, dtype=buf.dtype.newbyteorder("="))
    return out
