"""Offline data layer: idx files, the embedded default dataset, and data folders.

The grader never downloads anything.  It works with three kinds of data:

* ``"embedded"`` -- a small MNIST-shaped dataset derived deterministically from
  scikit-learn's bundled 8x8 handwritten digits (see :func:`build_embedded`),
  built once and cached (see :func:`embedded_dir`);
* ``"fashion"`` -- Fashion-MNIST as installed by the Debian package
  ``dataset-fashion-mnist`` (:data:`FASHION_DIR`);
* any folder holding the four idx files under MNIST's names, plain or gzipped,
  or with the dotted names some handouts use (``train-images.idx3-ubyte``).

The choice is a ``source`` argument, or the ``GRADER_DATA`` environment
variable when no argument is given; the default is ``"embedded"``.

Images come back as ``uint8`` arrays of shape ``(N, 28, 28)`` and labels as
``uint8`` arrays of shape ``(N,)``; :func:`load_columns` gives the
"one sample per column" layout, ``(784, N)``, used by ``MNISTtools.load``.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "IdxError",
    "DataFilesMissing",
    "read_idx",
    "write_idx",
    "MNIST_FILES",
    "HANDOUT_ALIASES",
    "FASHION_DIR",
    "EMBEDDED_VERSION",
    "build_embedded",
    "embedded_dir",
    "resolve_data_dir",
    "find_file",
    "load_split",
    "load_columns",
    "write_dataset",
    "mnisttools_path",
]


class IdxError(ValueError):
    """An idx file (or a folder of them) is unreadable; the message names the file."""


class DataFilesMissing(IdxError, FileNotFoundError):
    """A data folder lacks one of the expected idx files."""


# --------------------------------------------------------------------------- idx

# idx type code -> big-endian numpy dtype
_IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_EXPECTED_MAGIC = "expected 0x00000803 for uint8 images or 0x00000801 for uint8 labels"


def _name(path) -> str:
    return Path(path).name or str(path)


def _decode_idx(data: bytes, name: str) -> np.ndarray:
    """Parse the bytes of an (already decompressed) idx file."""
    if len(data) < 4:
        raise IdxError(f"{name}: too short for an idx header ({len(data)} bytes)")
    magic = struct.unpack(">I", data[:4])[0]
    zero, code, ndim = data[0] << 8 | data[1], data[2], data[3]
    if zero != 0 or code not in _IDX_TYPES or ndim == 0:
        raise IdxError(f"{name}: wrong magic 0x{magic:08x} ({_EXPECTED_MAGIC})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(
            f"{name}: truncated header: {ndim} dimensions need {header} bytes, "
            f"file has {len(data)}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _IDX_TYPES[code]
    count = int(np.prod(dims, dtype=np.int64))
    expected = count * dtype.itemsize
    have = len(data) - header
    shape_txt = "x".join(str(d) for d in dims)
    if have < expected:
        raise IdxError(
            f"{name}: truncated: header says {shape_txt} = {expected} bytes of data, "
            f"file has {have}")
    if have > expected:
        raise IdxError(
            f"{name}: {have - expected} trailing bytes after the data: header says "
            f"{shape_txt} = {expected} bytes of data, file has {have}")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)  # native order, writable


def read_idx(path) -> np.ndarray:
    """Read an idx file (plain or gzip, detected by its magic bytes) into an array."""
    path = Path(path)
    name = _name(path)
    data = path.read_bytes()
    if not data:
        raise IdxError(f"{name}: empty file")
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise IdxError(f"{name}: bad gzip stream ({exc or type(exc).__name__})") from None
        if not data:
            raise IdxError(f"{name}: empty file (inside gzip)")
    return _decode_idx(data, name)


def _encode_idx(array: np.ndarray) -> bytes:
    array = np.asarray(array)
    for code, dtype in _IDX_TYPES.items():
        if array.dtype.kind == dtype.kind and array.dtype.itemsize == dtype.itemsize:
            break
    else:
        raise TypeError(f"write_idx: no idx type code for dtype {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx: cannot store a {array.ndim}-dimensional array")
    if any(d >= 2**32 for d in array.shape):
        raise ValueError(f"write_idx: dimension too large in shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=dtype).tobytes()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, payload: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; use the usual file mode
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_idx(path, array) -> None:
    """Write an array as an idx file (gzip, with mtime 0, if the name ends in .gz), atomically."""
    path = Path(path)
    payload = _encode_idx(array)
    if path.name.endswith(".gz"):
        # No file name and a zero timestamp in the header: same bytes every time.
        payload = gzip.compress(payload, compresslevel=9, mtime=0)
    _atomic_write(path, payload)


# ----------------------------------------------------------------- file names

MNIST_FILES = {
    "train-images": "train-images-idx3-ubyte",
    "train-labels": "train-labels-idx1-ubyte",
    "test-images": "t10k-images-idx3-ubyte",
    "test-labels": "t10k-labels-idx1-ubyte",
}

# Dotted names used by handout 003.  Its label names say "idx3" where the real
# format is idx1 (for the test labels too, in the handout's list); both
# spellings of the test labels are written by write_dataset.
HANDOUT_ALIASES = {
    "train-images": ("train-images.idx3-ubyte",),
    "train-labels": ("train-labels.idx3-ubyte",),
    "test-images": ("t10k-images.idx3-ubyte",),
    "test-labels": ("t10k-labels.idx1-ubyte", "t10k-labels.idx3-ubyte"),
}

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

_SPLITS = {"train": "train", "training": "train", "test": "test", "testing": "test",
           "t10k": "test"}


def _candidates(key: str) -> list[str]:
    canonical = MNIST_FILES[key]
    prefix, _, kind = canonical.partition("-idx")  # "train-images", "3-ubyte"
    dotted = [f"{prefix}.idx{kind}"]
    for other in ("1", "3"):
        alt = f"{prefix}.idx{other}-ubyte"
        if alt not in dotted:
            dotted.append(alt)
    names = []
    for base in [canonical, *dotted]:
        names += [base, base + ".gz"]
    return names


def find_file(folder, key: str) -> Path:
    """Locate the idx file for key ("train-images", ...) in folder: plain, .gz or dotted names."""
    if key not in MNIST_FILES:
        raise KeyError(f"unknown data file key {key!r}; expected one of {sorted(MNIST_FILES)}")
    folder = Path(folder)
    tried = _candidates(key)
    for name in tried:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise DataFilesMissing(
        f"{folder}: missing {MNIST_FILES[key]} (looked for {', '.join(tried)})")


# ------------------------------------------------------------ embedded dataset

EMBEDDED_VERSION = "embedded-v1"
# The same digits at MNIST's own counts (--data embedded-mnist, and every notebook whose code writes those
# counts): train and test both enlarged with every shift within +-3 pixels, nearest first, cut at the count.
MNIST_COUNTS_VERSION = "embedded-mnist-counts-v1"
MNIST_COUNTS = {"train": 60000, "test": 10000}
_ALL_SHIFTS = tuple(sorted(((dy, dx) for dy in range(-3, 4) for dx in range(-3, 4)),
                           key=lambda s: (abs(s[0]) + abs(s[1]), max(abs(s[0]), abs(s[1])), s)))
_BOX = 20          # side of the upscaled digit, as in MNIST
_CANVAS = 28       # side of the image
_TEST_EVERY = 6    # within each class, samples 5, 11, 17, ... go to the test split
_SHIFTS = ((0, 0), (-2, 0), (2, 0), (0, -2), (0, 2))  # (rows, cols) copies of each train image


def _upscale_weights(n_in: int, n_out: int):
    """Integer bilinear taps: source indices (lo, hi), their weights, and the weight total."""
    # Pixel-centre mapping: output centre (i + 1/2) * n_in / n_out - 1/2 in input
    # coordinates, kept exact as an integer fraction with denominator 2*n_out.
    den = 2 * n_out
    num = (2 * np.arange(n_out) + 1) * n_in - n_out          # source coordinate * den
    num = np.clip(num, 0, (n_in - 1) * den)
    lo = num // den
    frac = num - lo * den                                       # 0 .. den-1
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, den - frac, frac, den


def _upscale(images: np.ndarray, n_out: int) -> np.ndarray:
    """Bilinear upscaling of integer images (N, n, n) with exact integer arithmetic.

    Returns integers equal to the interpolated value times den**2.
    """
    n_in = images.shape[-1]
    lo, hi, w_lo, w_hi, den = _upscale_weights(n_in, n_out)
    img = images.astype(np.int64)
    rows = img[:, lo, :] * w_lo[None, :, None] + img[:, hi, :] * w_hi[None, :, None]
    out = rows[:, :, lo] * w_lo[None, None, :] + rows[:, :, hi] * w_hi[None, None, :]
    return out, den * den


def _shift(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Shift images by (dy, dx) pixels, filling with zeros (no wrap-around)."""
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    src_r = slice(max(0, -dy), h - max(0, dy))
    dst_r = slice(max(0, dy), h - max(0, -dy))
    src_c = slice(max(0, -dx), w - max(0, dx))
    dst_c = slice(max(0, dx), w - max(0, -dx))
    out[:, dst_r, dst_c] = images[:, src_r, src_c]
    return out


def _enlarged(images: np.ndarray, labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` images: every image unshifted, then shifted by each of _ALL_SHIFTS in turn, cut at `count`."""
    copies = -(-count // len(images))
    if copies > len(_ALL_SHIFTS):
        raise IdxError(f"cannot make {count} images from {len(images)} with {len(_ALL_SHIFTS)} shifts")
    x = np.concatenate([_shift(images, dy, dx) for dy, dx in _ALL_SHIFTS[:copies]])[:count]
    return x, np.concatenate([labels] * copies)[:count]


def _embedded_arrays(mnist_counts: bool = False):
    """Compute (train_x, train_y, test_x, test_y, n_train_base) for the embedded dataset (or at MNIST's counts)."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn, no download

    digits = load_digits()
    raw = np.rint(digits.images).astype(np.int64)          # (1797, 8, 8), 0..16
    labels = digits.target.astype(np.int64)
    if raw.min() < 0 or raw.max() > 16:
        raise IdxError("sklearn digits: unexpected pixel range")
    up, scale = _upscale(raw, _BOX)                          # value * scale, max 16 * scale
    full = 16 * scale
    # round half up, all in integers: floor((v*255 + full/2) / full)
    box = ((up * 255 + full // 2) // full).astype(np.uint8)
    canvas = np.zeros((len(box), _CANVAS, _CANVAS), dtype=np.uint8)
    off = (_CANVAS - _BOX) // 2
    canvas[:, off:off + _BOX, off:off + _BOX] = box

    # rank of each sample within its class, in dataset order
    rank = np.zeros(len(labels), dtype=np.int64)
    seen = np.zeros(10, dtype=np.int64)
    for i, lab in enumerate(labels):
        rank[i] = seen[lab]
        seen[lab] += 1
    is_test = rank % _TEST_EVERY == _TEST_EVERY - 1

    base_x, base_y = canvas[~is_test], labels[~is_test].astype(np.uint8)
    test_x, test_y = canvas[is_test], labels[is_test].astype(np.uint8)
    if mnist_counts:
        train_x, train_y = _enlarged(base_x, base_y, MNIST_COUNTS["train"])
        test_x, test_y = _enlarged(test_x, test_y, MNIST_COUNTS["test"])
        return train_x, train_y, test_x, test_y, len(base_x)
    train_x = np.concatenate([_shift(base_x, dy, dx) for dy, dx in _SHIFTS])
    train_y = np.concatenate([base_y] * len(_SHIFTS))
    return train_x, train_y, test_x, test_y, len(base_x)


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build_embedded(dest, mnist_counts: bool = False) -> dict:
    """Build the embedded MNIST-shaped dataset from scikit-learn's digits into dest; return counts."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    train_x, train_y, test_x, test_y, n_base = _embedded_arrays(mnist_counts)
    arrays = {"train-images": train_x, "train-labels": train_y,
              "test-images": test_x, "test-labels": test_y}
    sizes, hashes = {}, {}
    for key, arr in arrays.items():
        path = dest / MNIST_FILES[key]
        write_idx(path, arr)
        sizes[key] = path.stat().st_size
        hashes[key] = _sha256(path)
    shifts = ", ".join(f"({dy:+d},{dx:+d})" for dy, dx in _SHIFTS)
    lines = [
        f"{EMBEDDED_VERSION}: MNIST-shaped stand-in built offline by reference/data.py",
        "",
        "Origin: scikit-learn's bundled handwritten digits (sklearn.datasets.load_digits),",
        "1797 grey images of 8x8 pixels with values 0..16, labels 0..9.",
        "",
        "Each 8x8 image is upscaled to a 20x20 box by bilinear interpolation with",
        "pixel-centre alignment, computed in exact integer arithmetic; the result is",
        "mapped to 0..255 (value * 255 / 16, rounded half up) and placed in the middle",
        "of a 28x28 black canvas (rows and columns 4..23).",
        "",
        f"Split: within each class, in dataset order, every {_TEST_EVERY}th sample",
        f"(class-rank % {_TEST_EVERY} == {_TEST_EVERY - 1}) goes to the test split, the rest to train.",
        f"Train is enlarged with shifted copies (rows, cols): {shifts}, zero-filled;",
        "all unshifted images come first, then each shift in that order.",
        "Test images are not shifted. No random numbers are used.",
        "",
        *([f"{MNIST_COUNTS_VERSION}: train and test are both enlarged with the shifts {_ALL_SHIFTS}",
           "in that order (the unshifted images first), cut at MNIST's own counts."] if mnist_counts else []),
        f"train: {len(train_y)} images ({n_base} originals x {len(_SHIFTS)})",
        f"test:  {len(test_y)} images",
        "",
        "Files (uncompressed idx, MNIST names) and sha256:",
    ]
    for key in arrays:
        lines.append(f"  {MNIST_FILES[key]}  {sizes[key]} bytes  {hashes[key]}")
    (dest / "SOURCE.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {
        "train": int(len(train_y)),
        "test": int(len(test_y)),
        "train_originals": int(n_base),
        "shifts": len(_SHIFTS),
        "bytes": int(sum(sizes.values())),
        "sha256": hashes,
    }


def _cache_root() -> Path:
    env = os.environ.get("GRADER_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "nn-grader"


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in MNIST_FILES.values())


def embedded_dir(mnist_counts: bool = False) -> Path:
    """Return the cached embedded dataset folder (or the one at MNIST's counts), building it on first use."""
    version = MNIST_COUNTS_VERSION if mnist_counts else EMBEDDED_VERSION
    root = _cache_root()
    target = root / version
    if _complete(target):
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{version}-build-"))
    try:
        build_embedded(tmp, mnist_counts=True) if mnist_counts else build_embedded(tmp)
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        if target.exists() and not _complete(target):
            # a broken leftover: move it aside (another process may race us here)
            trash = Path(tempfile.mkdtemp(dir=root, prefix=f".{version}-old-"))
            try:
                os.replace(target, trash / "old")
            except OSError:
                pass
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.rename(tmp, target)
        except OSError:
            if not _complete(target):  # lost a race to a broken writer: report it
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


# ------------------------------------------------------------------- folders

def _check_folder(folder: Path) -> Path:
    if not folder.is_dir():
        raise DataFilesMissing(f"{folder}: data folder does not exist")
    for key in MNIST_FILES:
        find_file(folder, key)
    return folder


def resolve_data_dir(source: str | os.PathLike | None = None) -> Path:
    """Map "embedded", "embedded-mnist" (the same digits at MNIST's counts), "fashion" or a folder path (default: $GRADER_DATA or "embedded") to a data folder."""
    if source is None:
        source = os.environ.get("GRADER_DATA") or "embedded"
    if isinstance(source, str) and source.strip().lower() == "embedded":
        return embedded_dir()
    if isinstance(source, str) and source.strip().lower() == "embedded-mnist":
        return embedded_dir(mnist_counts=True)
    if isinstance(source, str) and source.strip().lower() == "fashion":
        return _check_folder(FASHION_DIR)
    return _check_folder(Path(source).expanduser())


def _split_name(split: str) -> str:
    try:
        return _SPLITS[str(split).lower()]
    except KeyError:
        raise ValueError(f"unknown split {split!r}; use 'train' or 'test'") from None


def load_split(split: str = "train", source=None) -> tuple[np.ndarray, np.ndarray]:
    """Return images (N, 28, 28) uint8 and labels (N,) uint8 for the "train" or "test" split."""
    which = _split_name(split)
    folder = resolve_data_dir(source)
    img_path = find_file(folder, f"{which}-images")
    lab_path = find_file(folder, f"{which}-labels")
    images, labels = read_idx(img_path), read_idx(lab_path)
    if images.ndim != 3:
        raise IdxError(f"{img_path.name}: expected 3-D images, got shape {images.shape}")
    if labels.ndim != 1:
        raise IdxError(f"{lab_path.name}: expected 1-D labels, got shape {labels.shape}")
    if len(images) != len(labels):
        raise IdxError(f"{img_path.name} has {len(images)} images but "
                       f"{lab_path.name} has {len(labels)} labels")
    return images.astype(np.uint8, copy=False), labels.astype(np.uint8, copy=False)


def load_columns(dataset: str = "training", source=None) -> tuple[np.ndarray, np.ndarray]:
    """Return images stacked in columns (784, N) uint8 and labels (N,) uint8 ("training"/"testing")."""
    images, labels = load_split(dataset, source)
    return np.ascontiguousarray(images.reshape(len(images), -1).T), labels


def _link_or_copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.link-tmp")
    if tmp.exists() or tmp.is_symlink():
        tmp.unlink()
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def write_dataset(dest, source=None, subsample: int | None = None, names: str = "mnist") -> dict:
    """Write the configured data into dest as plain idx files, optionally subsampled.

    ``subsample`` keeps the first ``subsample`` train images and the first
    ``max(100, subsample // 5)`` test images.  ``names="mnist"`` writes MNIST's
    names plus the dotted handout names (hard links, or copies); ``names="canonical"``
    writes MNIST's names only.  Returns the counts and the paths written.
    """
    if names not in ("mnist", "canonical"):
        raise ValueError(f"names must be 'mnist' or 'canonical', not {names!r}")
    if subsample is not None and int(subsample) < 1:
        raise ValueError(f"subsample must be a positive integer, not {subsample!r}")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    folder = resolve_data_dir(source)
    written: dict[str, list[str]] = {}
    counts = {}
    for split in ("train", "test"):
        images, labels = load_split(split, folder)
        if subsample is not None:
            n = int(subsample) if split == "train" else max(100, int(subsample) // 5)
            images, labels = images[:n], labels[:n]
        counts[split] = int(len(labels))
        for key, arr in ((f"{split}-images", images), (f"{split}-labels", labels)):
            path = dest / MNIST_FILES[key]
            write_idx(path, arr)
            written[key] = [path.name]
            if names == "mnist":
                for alias in HANDOUT_ALIASES[key]:
                    _link_or_copy(path, dest / alias)
                    written[key].append(alias)
    return {"train": counts["train"], "test": counts["test"], "dir": str(dest),
            "files": written}


def mnisttools_path() -> Path:
    """Path of the standalone student-facing MNISTtools.py (to copy into a sandbox)."""
    return Path(__file__).with_name("MNISTtools.py")
