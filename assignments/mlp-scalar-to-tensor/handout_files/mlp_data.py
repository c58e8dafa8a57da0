"""Data for the MLP assignment: a synthetic two-class problem, and MNIST read from idx files.

Uses numpy and the standard library only, so it runs anywhere the notebook does.

    (xtrain, ytrain), (xval, yval), num_cls = load_synth()
    (xtrain, ytrain), (xval, yval), num_cls = load_mnist(final=False)

load_mnist returns raw pixels (uint8, 0..255, one image per row of 784 values
with flatten=True) and integer labels (int64). With final=False the last rows
of the training split are held out as a validation set; with final=True you
get the whole training split and the canonical test set.

The idx files are looked for in `path` (default: the current folder, then the
folder of this file) under MNIST's names (train-images-idx3-ubyte, ...), plain
or gzipped, or with dots (train-images.idx3-ubyte).
"""
from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

__all__ = ["load_synth", "load_mnist", "read_idx", "validation_split"]


# ------------------------------------------------------------------ synthetic

def load_synth(num_train=60000, num_val=10000, seed=0):
    """((xtrain, ytrain), (xval, yval), 2): x ~ N(0, I_2), label 1 where x^T A x > 1 for a fixed A."""
    rng = np.random.default_rng(seed)
    A = np.array([[1.0, 0.5], [-0.3, 0.6]])
    x = rng.standard_normal((num_train + num_val, 2))
    y = (np.einsum("ni,ij,nj->n", x, A, x) > 1.0).astype(np.int64)
    return (x[:num_train], y[:num_train]), (x[num_train:], y[num_train:]), 2


# ------------------------------------------------------------------ idx files

_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

_NAMES = {
    "train-images": "train-images-idx3-ubyte",
    "train-labels": "train-labels-idx1-ubyte",
    "test-images": "t10k-images-idx3-ubyte",
    "test-labels": "t10k-labels-idx1-ubyte",
}


def read_idx(path):
    """An idx file (plain or gzip) as a numpy array in native byte order."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an idx file")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    count = int(np.prod(dims, dtype=np.int64))
    array = np.frombuffer(data, dtype=dtype, count=count, offset=4 + 4 * ndim).reshape(dims)
    return array.astype(dtype.newbyteorder("="))


def _find(folder, key):
    """The file for key ("train-images", ...) in folder, under any of the usual spellings."""
    canonical = _NAMES[key]
    prefix, _, kind = canonical.partition("-idx")  # "train-images", "3-ubyte"
    names = [canonical, f"{prefix}.idx{kind}", f"{prefix}.idx1-ubyte", f"{prefix}.idx3-ubyte"]
    for name in names:
        for candidate in (name, name + ".gz"):
            if (Path(folder) / candidate).is_file():
                return Path(folder) / candidate
    return None


def _data_folder(path):
    if path is not None:
        return Path(path)
    for folder in (Path(os.getcwd()), Path(__file__).resolve().parent):
        if _find(folder, "train-images") is not None:
            return folder
    raise FileNotFoundError(f"no {_NAMES['train-images']} in the current folder; "
                            "put the MNIST idx files beside the notebook or pass path=...")


def _load_split(split, folder):
    images_path, labels_path = _find(folder, f"{split}-images"), _find(folder, f"{split}-labels")
    if images_path is None or labels_path is None:
        raise FileNotFoundError(f"{folder}: missing the {split} idx files ({_NAMES[split + '-images']}, "
                                f"{_NAMES[split + '-labels']})")
    return read_idx(images_path).astype(np.uint8), read_idx(labels_path).astype(np.uint8)


# ------------------------------------------------------------------ validation split

# The grader's small stand-in for MNIST stores every training digit several times:
# first all unshifted images, then one block per (rows, cols) shift below.
_SHIFTS = ((0, 0), (-2, 0), (2, 0), (0, -2), (0, 2))


def _shift(images, dy, dx):
    """Images moved by (dy, dx) pixels, zero-filled."""
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    out[:, max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)] = \
        images[:, max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    return out


def _copies(images):
    """How many shifted copies of each digit the training split holds (1 for real MNIST)."""
    n, k = len(images), len(_SHIFTS)
    if images.ndim != 3 or n == 0 or n % k:
        return 1
    base = images[:n // k]
    for i, (dy, dx) in enumerate(_SHIFTS):
        if not np.array_equal(images[i * (n // k):(i + 1) * (n // k)], _shift(base, dy, dx)):
            return 1
    return k


def validation_split(images):
    """(train rows, validation rows) of the training images.

    A full-size set (30,000 rows or more, like MNIST) holds out its last 5,000
    rows. A smaller set holds out its last fifth; when it stores shifted copies
    of each digit, the validation rows are the unshifted last fifth of the
    digits and none of their copies stay in training.
    """
    n = len(images)
    if n >= 30000:
        return np.arange(n - 5000), np.arange(n - 5000, n)
    copies = _copies(images)
    n_base = n // copies
    held = np.arange(n_base - n_base // 5, n_base)
    keep = np.ones(n, dtype=bool)
    keep[(held[None, :] + n_base * np.arange(copies)[:, None]).ravel()] = False
    return np.flatnonzero(keep), held


def load_mnist(final=False, flatten=True, path=None):
    """((xtrain, ytrain), (xval, yval), 10): uint8 pixels 0..255 and int64 labels.

    final=False: part of the training split, and the held-out rest as validation set.
    final=True: the whole training split, and the test set.
    flatten=True: each image is a row of 784 values; otherwise (N, 28, 28).
    """
    folder = _data_folder(path)
    xtrain, ytrain = _load_split("train", folder)
    if final:
        xval, yval = _load_split("test", folder)
    else:
        keep, held = validation_split(xtrain)
        xtrain, ytrain, xval, yval = xtrain[keep], ytrain[keep], xtrain[held], ytrain[held]
    if flatten:
        xtrain, xval = xtrain.reshape(len(xtrain), -1), xval.reshape(len(xval), -1)
    return (xtrain, ytrain.astype(np.int64)), (xval, yval.astype(np.int64)), 10
