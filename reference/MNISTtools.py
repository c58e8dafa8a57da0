"""Small helpers to load and look at MNIST-style handwritten digit images.

The data is read from the four standard idx files (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``), plain or gzip-compressed; the dotted spellings
(``train-images.idx3-ubyte``, ...) are recognised as well.

Functions
---------
load(dataset="training", path=".")
    The images of one split as columns of a 784 x N array, plus N labels.
show(image)
    Draw one image, given as a column of 784 pixel values.

This module depends only on NumPy and the standard library (matplotlib is
imported by :func:`show` when it is called).
"""
import gzip
import os
import struct

import numpy as np

__all__ = ["load", "show"]

_FILES = {
    "training": ("train-images", "train-labels"),
    "testing": ("t10k-images", "t10k-labels"),
}
_ALIASES = {"training": "training", "train": "training",
            "testing": "testing", "test": "testing", "t10k": "testing"}
_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _names(stem, ndim):
    """Candidate file names for one idx file, most usual first."""
    other = "1" if ndim == "3" else "3"
    bases = [stem + "-idx" + ndim + "-ubyte", stem + ".idx" + ndim + "-ubyte",
             stem + ".idx" + other + "-ubyte"]
    return [b + ext for b in bases for ext in ("", ".gz")]


def _find(folder, stem, ndim):
    for name in _names(stem, ndim):
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def _read(filename):
    """Read one idx file (plain or gzip) into a NumPy array."""
    with open(filename, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    where = os.path.basename(filename)
    if len(raw) < 4 or raw[0] or raw[1] or raw[2] not in _TYPES or not raw[3]:
        raise ValueError(where + ": not an idx file (bad header)")
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    dtype = np.dtype(_TYPES[raw[2]])
    count = int(np.prod(dims, dtype=np.int64))
    if len(raw) != 4 + 4 * ndim + count * dtype.itemsize:
        raise ValueError(where + ": size does not match its header %s" % (dims,))
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=4 + 4 * ndim)
    return data.reshape(dims).astype(dtype.newbyteorder("="))


def _folders(path):
    """Places searched, in order: path, $MNIST_SHIM_DIR, this file's folder, the cwd."""
    places = []
    if path:
        places.append(os.path.expanduser(str(path)))
    if os.environ.get("MNIST_SHIM_DIR"):
        places.append(os.environ["MNIST_SHIM_DIR"])
    places.append(os.path.dirname(os.path.abspath(__file__)))
    places.append(os.getcwd())
    return places


def load(dataset="training", path="."):
    """Load the training or the testing set of the MNIST digits.

    Parameters
    ----------
    dataset : str
        ``"training"`` (60,000 images in real MNIST) or ``"testing"``
        (10,000 images); ``"train"`` and ``"test"`` are accepted too.
    path : str
        Folder holding the idx files.  When it does not exist or lacks the
        files, the folder named by the ``MNIST_SHIM_DIR`` environment variable
        is used, then the folder of this module, then the current directory.

    Returns
    -------
    x : numpy.ndarray, shape (784, N), dtype uint8
        One image per column: the 28 x 28 pixels of an image, row after row,
        with values from 0 (background) to 255 (ink).
    lbl : numpy.ndarray, shape (N,), dtype uint8
        The digit (0 to 9) shown in each column of ``x``.

    Example
    -------
    >>> x, lbl = load(dataset="training", path="/datasets/MNIST")
    >>> x.shape[0]
    784
    """
    key = _ALIASES.get(str(dataset).lower())
    if key is None:
        raise ValueError("dataset must be 'training' or 'testing', not %r" % (dataset,))
    img_stem, lbl_stem = _FILES[key]
    searched = []
    for folder in _folders(path):
        searched.append(folder)
        if not os.path.isdir(folder):
            continue
        img_file, lbl_file = _find(folder, img_stem, "3"), _find(folder, lbl_stem, "1")
        if img_file and lbl_file:
            images, labels = _read(img_file), _read(lbl_file)
            if len(images) != len(labels):
                raise ValueError("%s and %s hold different numbers of samples"
                                 % (img_file, lbl_file))
            x = np.ascontiguousarray(images.reshape(len(images), -1).T)
            return x.astype(np.uint8, copy=False), labels.astype(np.uint8, copy=False)
    raise FileNotFoundError(
        "MNIST %s files (%s-idx3-ubyte, %s-idx1-ubyte, plain or .gz) not found in: %s"
        % (key, img_stem, lbl_stem, ", ".join(searched)))


def show(image):
    """Draw one MNIST image given as a column vector of 784 pixel values.

    The vector is reshaped to 28 x 28 and shown in shades of grey, without axes.

    Example
    -------
    >>> x, lbl = load(dataset="training", path="/datasets/MNIST")
    >>> show(x[:, 0])
    """
    import matplotlib
    import matplotlib.pyplot as plt

    pixels = np.asarray(image, dtype=float).ravel()
    side = int(round(np.sqrt(pixels.size)))
    if side * side != pixels.size:
        raise ValueError("show expects a square image, got %d values" % pixels.size)
    plt.imshow(pixels.reshape(side, side), cmap="gray")
    plt.axis("off")
    backend = matplotlib.get_backend().lower()
    if backend not in ("agg", "pdf", "ps", "svg", "cairo", "pgf", "template"):
        plt.show()
