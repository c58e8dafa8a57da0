"""Tests for the offline data layer (reference/data.py) and the student-facing MNISTtools.py."""
import ast
import gzip
import hashlib
import os
import shutil
import stat
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reference import data
from reference.data import (FASHION_DIR, MNIST_FILES, DataFilesMissing, IdxError,
                            build_embedded, embedded_dir, find_file, load_columns,
                            load_split, read_idx, resolve_data_dir, write_dataset,
                            write_idx)

MNISTTOOLS = Path(data.__file__).with_name("MNISTtools.py")

# sha256 of the embedded-v1 files; a change here means the embedded data changed
# (bump EMBEDDED_VERSION in reference/data.py when that is intended).
EMBEDDED_SHA256 = {
    "train-images": "b3a4991d7a83ca306f51004e3cdc92d7c0211cf618c9e7de1889c9153e090267",
    "train-labels": "c863be97dbaf148a82735863379d8d3108666e03b209ec1ac880095f2ed8a400",
    "test-images": "40505f30d13ea9b69cc4488587f4f9c579425d192e6f6c7dedf35dcc7b0893f2",
    "test-labels": "6e66a2a3eeda771c2d0cfca57a0df88c21ddbaf65aa1591a86773aaa531aeda1",
}

needs_fashion = pytest.mark.skipif(
    not all((FASHION_DIR / (n + ".gz")).is_file() for n in MNIST_FILES.values()),
    reason="Fashion-MNIST (Debian dataset-fashion-mnist) not installed")


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def embedded(tmp_path_factory):
    """One build of the embedded dataset: (folder, info dict)."""
    dest = tmp_path_factory.mktemp("embedded")
    return dest, build_embedded(dest)


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory):
    return tmp_path_factory.mktemp("grader-cache")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, cache_root):
    """Never touch ~/.cache; never inherit the caller's data settings."""
    monkeypatch.setenv("GRADER_CACHE", str(cache_root))
    monkeypatch.delenv("GRADER_DATA", raising=False)
    monkeypatch.delenv("MNIST_SHIM_DIR", raising=False)


def make_folder(folder, n_train=30, n_test=12, names="plain", seed=0):
    """Write a small random dataset under MNIST names ("plain"), .gz names or dotted names."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test-images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test-labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for key, arr in arrays.items():
        name = MNIST_FILES[key]
        if names == "gz":
            name += ".gz"
        elif names == "dotted":
            name = name.replace("-idx", ".idx")
        write_idx(folder / name, arr)
    return arrays


# ------------------------------------------------------------------ idx files

@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("shape", [(7,), (5, 28, 28), (3, 4), (2, 3, 4, 5)])
def test_idx_roundtrip_uint8(tmp_path, suffix, shape):
    arr = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape).astype(np.uint8)
    path = tmp_path / ("x-idx-ubyte" + suffix)
    write_idx(path, arr)
    back = read_idx(path)
    assert back.dtype == np.uint8 and back.shape == shape
    np.testing.assert_array_equal(back, arr)
    back[...] = 0  # writable
    raw = path.read_bytes()
    if suffix:
        assert raw[:2] == b"\x1f\x8b"
        raw = gzip.decompress(raw)
    assert raw[:4] == bytes([0, 0, 8, len(shape)])
    assert struct.unpack(f">{len(shape)}I", raw[4:4 + 4 * len(shape)]) == shape


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_roundtrip_other_types(tmp_path, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 11).astype(dtype)
    if np.dtype(dtype).kind == "f":
        arr = arr / 3
    write_idx(tmp_path / "a.idx", arr)
    back = read_idx(tmp_path / "a.idx")
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, arr)
    raw = (tmp_path / "a.idx").read_bytes()
    first = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder(">"), count=1, offset=16)
    assert first[0] == arr.flat[0]  # data stored big-endian


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError):
        write_idx(tmp_path / "a.idx", np.zeros(3, dtype=np.int64))
    assert not list(tmp_path.iterdir())


def test_gzip_detected_by_magic_not_extension(tmp_path):
    arr = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", arr)
    (tmp_path / "a.gz").rename(tmp_path / "compressed-without-suffix")
    write_idx(tmp_path / "plain", arr)
    (tmp_path / "plain").rename(tmp_path / "plain-with-suffix.gz")
    np.testing.assert_array_equal(read_idx(tmp_path / "compressed-without-suffix"), arr)
    np.testing.assert_array_equal(read_idx(tmp_path / "plain-with-suffix.gz"), arr)


def test_gzip_output_is_reproducible(tmp_path):
    arr = np.arange(300, dtype=np.int64).astype(np.uint8)
    write_idx(tmp_path / "one.gz", arr)
    first = (tmp_path / "one.gz").read_bytes()
    write_idx(tmp_path / "one.gz", arr)  # overwrite in place
    write_idx(tmp_path / "two.gz", arr)
    assert (tmp_path / "one.gz").read_bytes() == first == (tmp_path / "two.gz").read_bytes()
    assert first[4:8] == b"\0\0\0\0"       # mtime field
    assert not first[3] & 0x08              # no file name stored
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.gz", "two.gz"]  # no temp left


def _good_bytes():
    return bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 3, 3) + bytes(range(18))


@pytest.mark.parametrize("content, needle", [
    (b"", "empty file"),
    (b"\0\0\x08", "too short"),
    (b"\0\0\0\0" + b"\0" * 20, "wrong magic 0x00000000"),
    (bytes([0, 0, 7, 1]) + struct.pack(">I", 1) + b"x", "wrong magic 0x00000701"),
    (bytes([1, 0, 8, 1]) + struct.pack(">I", 1) + b"x", "wrong magic"),
    (bytes([0, 0, 8, 3]) + struct.pack(">I", 5), "truncated header"),
    (_good_bytes()[:-5], "truncated: header says 2x3x3 = 18 bytes of data, file has 13"),
    (_good_bytes() + b"junk", "4 trailing bytes"),
    (b"\x1f\x8b" + b"this is not deflate data at all", "bad gzip stream"),
    (gzip.compress(_good_bytes(), mtime=0)[:-12], "bad gzip stream"),
    (gzip.compress(_good_bytes()[:-1], mtime=0), "truncated"),
    (gzip.compress(b"", mtime=0), "empty file"),
])
def test_corrupt_files_raise_idxerror_naming_the_file(tmp_path, content, needle):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(IdxError) as info:
        read_idx(path)
    message = str(info.value)
    assert message.startswith("t10k-images-idx3-ubyte: ")
    assert needle in message
    assert isinstance(info.value, ValueError)


def test_good_bytes_fixture_is_valid(tmp_path):
    (tmp_path / "ok").write_bytes(_good_bytes())
    assert read_idx(tmp_path / "ok").shape == (2, 3, 3)


# ------------------------------------------------------------ embedded dataset

def test_embedded_build_is_deterministic(embedded, tmp_path):
    first, info = embedded
    second = build_embedded(tmp_path / "again")
    assert second == info
    for name in [*MNIST_FILES.values(), "SOURCE.txt"]:
        assert (first / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    assert {k: sha(first / MNIST_FILES[k]) for k in MNIST_FILES} == EMBEDDED_SHA256
    assert info["sha256"] == EMBEDDED_SHA256


def test_embedded_shapes_and_labels(embedded):
    folder, info = embedded
    (xtr, ytr), (xte, yte) = load_split("train", folder), load_split("test", folder)
    assert xtr.shape == (info["train"], 28, 28) and ytr.shape == (info["train"],)
    assert xte.shape == (info["test"], 28, 28) and yte.shape == (info["test"],)
    for a in (xtr, ytr, xte, yte):
        assert a.dtype == np.uint8
    assert info["train"] >= 5000 and info["test"] >= 250
    assert info["train"] == info["train_originals"] * info["shifts"]
    assert info["train_originals"] + info["test"] == 1797
    for y in (ytr, yte):
        assert y.max() <= 9
        assert set(np.unique(y)) == set(range(10))
    counts = np.bincount(yte, minlength=10)
    assert counts.min() >= 25  # stratified: every class well represented
    for x in (xtr, xte):
        assert x.min() == 0 and x.max() == 255
    assert info["bytes"] == sum((folder / n).stat().st_size for n in MNIST_FILES.values())
    source = (folder / "SOURCE.txt").read_text()
    assert "load_digits" in source and str(info["train"]) in source


def test_embedded_images_are_centred(embedded):
    folder, _ = embedded
    for split, limit in (("test", 0.999), ("train", 0.95)):
        x, _ = load_split(split, folder)
        x = x.astype(np.float64)
        inner = x[:, 4:24, 4:24].sum(axis=(1, 2))
        total = x.sum(axis=(1, 2))
        assert (total > 0).all()
        assert inner.sum() / total.sum() > limit
        rows = (x.sum(axis=2) * np.arange(28)).sum(axis=1) / total
        cols = (x.sum(axis=1) * np.arange(28)).sum(axis=1) / total
        assert abs(rows.mean() - 13.5) < 1.5 and abs(cols.mean() - 13.5) < 1.5


def test_embedded_split_is_disjoint_and_train_holds_shifted_copies(embedded):
    folder, info = embedded
    xtr, ytr = load_split("train", folder)
    xte, _ = load_split("test", folder)
    n = info["train_originals"]
    originals = {img.tobytes() for img in xtr[:n]}
    assert not originals & {img.tobytes() for img in xte}
    # the second block is the first shifted up by two rows
    np.testing.assert_array_equal(xtr[n:2 * n, :-2], xtr[:n, 2:])
    np.testing.assert_array_equal(ytr[n:2 * n], ytr[:n])


def test_the_embedded_digits_at_mnists_counts(tmp_path, embedded):
    """--data embedded-mnist: 60,000 and 10,000 images, every class about a tenth, the small set's originals first,
    no test image among the training images, and the same bytes at every build."""
    info = build_embedded(tmp_path / "full", mnist_counts=True)
    assert (info["train"], info["test"]) == (60000, 10000)
    (xtr, ytr), (xte, yte) = load_split("train", tmp_path / "full"), load_split("test", tmp_path / "full")
    assert xtr.shape == (60000, 28, 28) and xte.shape == (10000, 28, 28) and ytr.dtype == np.uint8
    for labels, n in ((ytr, 60000), (yte, 10000)):
        share = np.bincount(labels, minlength=10) / n
        assert share.min() > 0.09 and share.max() < 0.11
    small_train, _ = load_split("train", embedded[0])
    originals = info["train_originals"]
    np.testing.assert_array_equal(xtr[:originals], small_train[:originals])
    train_bytes = {img.tobytes() for img in xtr}
    assert not any(img.tobytes() in train_bytes for img in xte[:296])  # the test originals are not training images
    assert len(train_bytes) > 0.95 * 60000  # shifted copies, not one image repeated
    again = build_embedded(tmp_path / "again", mnist_counts=True)
    assert again["sha256"] == info["sha256"]


def test_embedded_dir_honours_grader_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path / "cache"))
    folder = embedded_dir()
    assert folder == tmp_path / "cache" / "embedded-v1"
    assert {p.name for p in folder.iterdir()} >= set(MNIST_FILES.values()) | {"SOURCE.txt"}
    assert {k: sha(folder / MNIST_FILES[k]) for k in MNIST_FILES} == EMBEDDED_SHA256
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["embedded-v1"]  # no temp left
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask  # not mkdtemp's 0700
    for name in MNIST_FILES.values():  # not mkstemp's 0600: sandbox users must read them
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o666 & ~umask

    def no_rebuild(dest):
        raise AssertionError("rebuilt a complete cache")

    monkeypatch.setattr(data, "build_embedded", no_rebuild)
    assert embedded_dir() == folder
    assert resolve_data_dir("embedded") == folder
    assert resolve_data_dir() == folder  # default source


def _fake_builder(embedded_folder, calls):
    def fake(dest):
        calls.append(Path(dest))
        for name in [*MNIST_FILES.values(), "SOURCE.txt"]:
            shutil.copyfile(embedded_folder / name, Path(dest) / name)
        return {}
    return fake


def test_embedded_dir_rebuilds_broken_cache(monkeypatch, tmp_path, embedded):
    calls = []
    monkeypatch.setattr(data, "build_embedded", _fake_builder(embedded[0], calls))
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path))
    broken = tmp_path / "embedded-v1"
    broken.mkdir()
    (broken / "train-images-idx3-ubyte").write_bytes(b"half")
    folder = embedded_dir()
    assert len(calls) == 1 and folder == broken
    assert sha(folder / "train-images-idx3-ubyte") == EMBEDDED_SHA256["train-images"]
    assert [p.name for p in tmp_path.iterdir()] == ["embedded-v1"]


def test_embedded_dir_survives_losing_the_race(monkeypatch, tmp_path, embedded):
    """Another process finishes first: its folder is used and ours is discarded."""
    calls = []
    builder = _fake_builder(embedded[0], calls)

    def racing(dest):
        builder(dest)
        shutil.copytree(dest, tmp_path / "embedded-v1")  # the other process wins
        return {}

    monkeypatch.setattr(data, "build_embedded", racing)
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path))
    assert embedded_dir() == tmp_path / "embedded-v1"
    assert [p.name for p in tmp_path.iterdir()] == ["embedded-v1"]


# ----------------------------------------------------------- folders & loading

def test_resolve_custom_folders(tmp_path):
    for names in ("plain", "gz", "dotted"):
        folder = tmp_path / names
        arrays = make_folder(folder, names=names)
        assert resolve_data_dir(str(folder)) == folder
        assert resolve_data_dir(folder) == folder
        x, y = load_split("test", folder)
        np.testing.assert_array_equal(x, arrays["test-images"])
        np.testing.assert_array_equal(y, arrays["test-labels"])


def test_find_file_accepts_handout_misnamed_labels(tmp_path):
    make_folder(tmp_path / "src")
    folder = tmp_path / "handout"
    folder.mkdir()
    shutil.copyfile(tmp_path / "src" / "train-labels-idx1-ubyte",
                    folder / "train-labels.idx3-ubyte")
    assert find_file(folder, "train-labels").name == "train-labels.idx3-ubyte"
    with pytest.raises(KeyError):
        find_file(folder, "labels")


def test_grader_data_env_selects_folder(monkeypatch, tmp_path):
    make_folder(tmp_path / "d", n_train=17)
    monkeypatch.setenv("GRADER_DATA", str(tmp_path / "d"))
    assert resolve_data_dir() == tmp_path / "d"
    assert load_split("train")[0].shape == (17, 28, 28)


def test_missing_file_error_names_folder_and_file(tmp_path):
    folder = tmp_path / "incomplete"
    make_folder(folder)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataFilesMissing) as info:
        resolve_data_dir(str(folder))
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, IdxError)
    assert str(folder) in str(info.value) and "t10k-labels-idx1-ubyte" in str(info.value)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_data_dir(str(tmp_path / "nowhere"))


def test_mismatched_counts_rejected(tmp_path):
    make_folder(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, np.uint8))
    with pytest.raises(IdxError, match="30 images but train-labels-idx1-ubyte has 3"):
        load_split("train", tmp_path)


def test_load_columns(embedded):
    folder, info = embedded
    images, labels = load_split("test", folder)
    for name in ("testing", "test"):
        x, y = load_columns(name, folder)
        assert x.shape == (784, info["test"]) and x.dtype == np.uint8
        assert x.flags.c_contiguous
        np.testing.assert_array_equal(x[:, 7].reshape(28, 28), images[7])
        np.testing.assert_array_equal(y, labels)
    assert load_columns("training", folder)[0].shape == (784, info["train"])
    with pytest.raises(ValueError):
        load_columns("validation", folder)


@needs_fashion
def test_fashion_source():
    assert resolve_data_dir("fashion") == FASHION_DIR
    x, y = load_split("test", "fashion")
    assert x.shape == (10000, 28, 28) and y.shape == (10000,)
    assert set(np.unique(y)) == set(range(10))
    x, y = load_split("train", "fashion")
    assert x.shape == (60000, 28, 28) and y.shape == (60000,) and x.dtype == np.uint8


def test_write_dataset_subsample_and_names(embedded, tmp_path):
    folder, _ = embedded
    info = write_dataset(tmp_path / "sandbox", source=str(folder), subsample=500)
    assert info["train"] == 500 and info["test"] == 100
    dest = tmp_path / "sandbox"
    expected = {*MNIST_FILES.values(), "train-images.idx3-ubyte", "train-labels.idx3-ubyte",
                "t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte", "t10k-labels.idx3-ubyte"}
    assert {p.name for p in dest.iterdir()} == expected
    full_x, full_y = load_split("train", folder)
    np.testing.assert_array_equal(read_idx(dest / "train-images-idx3-ubyte"), full_x[:500])
    np.testing.assert_array_equal(read_idx(dest / "train-labels.idx3-ubyte"), full_y[:500])
    assert read_idx(dest / "t10k-images.idx3-ubyte").shape == (100, 28, 28)
    assert read_idx(dest / "t10k-labels.idx1-ubyte").shape == (100,)
    for path in dest.iterdir():
        assert path.read_bytes()[:2] == b"\0\0"  # plain, not gzip
    # rewriting over an existing sandbox works; larger subsample keeps 1/5 for test
    info = write_dataset(dest, source=str(folder), subsample=1000)
    assert (info["train"], info["test"]) == (1000, 200)
    assert read_idx(dest / "t10k-labels.idx3-ubyte").shape == (200,)
    # asking for more than there is keeps everything
    info = write_dataset(dest, source=str(folder), subsample=100000)
    assert (info["train"], info["test"]) == (embedded[1]["train"], embedded[1]["test"])


def test_write_dataset_full_copy_from_gz_canonical_names(tmp_path):
    arrays = make_folder(tmp_path / "src", names="gz")
    info = write_dataset(tmp_path / "out", source=str(tmp_path / "src"), names="canonical")
    assert (info["train"], info["test"]) == (30, 12)
    assert {p.name for p in (tmp_path / "out").iterdir()} == set(MNIST_FILES.values())
    np.testing.assert_array_equal(read_idx(tmp_path / "out" / "train-images-idx3-ubyte"),
                                  arrays["train-images"])
    with pytest.raises(ValueError):
        write_dataset(tmp_path / "out", source=str(tmp_path / "src"), names="bogus")


# ------------------------------------------------------------------ MNISTtools

def _import_mnisttools():
    import importlib
    return importlib.import_module("reference.MNISTtools")


def test_mnisttools_imports_only_numpy_and_stdlib():
    tree = ast.parse(MNISTTOOLS.read_text())
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            top.add((node.module or "").split(".")[0])
    assert top <= {"numpy", "gzip", "os", "struct"} | set(sys.stdlib_module_names)
    assert "reference" not in top and "matplotlib" not in top


def test_mnisttools_load_ignores_missing_student_path(monkeypatch, tmp_path, embedded):
    folder, info = embedded
    monkeypatch.setenv("MNIST_SHIM_DIR", str(folder))
    mt = _import_mnisttools()
    x, lbl = mt.load(dataset="training", path="/datasets/MNIST")
    assert x.shape == (784, info["train"]) and x.dtype == np.uint8
    assert lbl.shape == (info["train"],) and lbl.dtype == np.uint8
    cols, labels = load_columns("training", folder)
    np.testing.assert_array_equal(x, cols)
    np.testing.assert_array_equal(lbl, labels)
    x, lbl = mt.load("testing", path=str(tmp_path))  # exists but empty: fall through
    assert x.shape == (784, info["test"])
    # an existing folder that holds the files wins over MNIST_SHIM_DIR
    make_folder(tmp_path / "mine", n_train=9, names="gz")
    assert mt.load("train", path=str(tmp_path / "mine"))[0].shape == (784, 9)


def test_mnisttools_clear_error_when_nothing_found(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    mt = _import_mnisttools()
    with pytest.raises(FileNotFoundError, match="/datasets/MNIST"):
        mt.load("training", path="/datasets/MNIST")
    with pytest.raises(ValueError):
        mt.load("validation")


def test_mnisttools_standalone_copy(tmp_path, embedded):
    """A copy beside the data works with the reference package unimportable."""
    work = tmp_path / "student"
    write_dataset(work, source=str(embedded[0]), subsample=300)
    shutil.copyfile(MNISTTOOLS, work / "MNISTtools.py")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    code = "\n".join([
        "import sys",
        "sys.modules['reference'] = None  # make 'import reference' fail",
        "sys.modules['grader'] = None",
        f"sys.path.insert(0, {str(work)!r})",
        "import MNISTtools",
        "assert 'matplotlib' not in sys.modules and 'sklearn' not in sys.modules",
        "x, lbl = MNISTtools.load(dataset='training', path='/datasets/MNIST')",
        "xt, lt = MNISTtools.load('testing')",
        "print(x.shape, x.dtype, lbl.shape, lbl.dtype, xt.shape, int(lbl.max()))",
        "print(MNISTtools.load.__doc__ is not None, MNISTtools.show.__doc__ is not None)",
    ])
    env = {k: v for k, v in os.environ.items()
           if k not in ("MNIST_SHIM_DIR", "PYTHONPATH", "GRADER_DATA")}
    # cwd is a folder without data: the files beside MNISTtools.py must be found
    out = subprocess.run([sys.executable, "-I", "-c", code], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "(784, 300) uint8 (300,) uint8 (784, 100) 9"
    assert lines[1] == "True True"


def test_mnisttools_show_headless(embedded):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mt = _import_mnisttools()
    x, _ = load_columns("testing", embedded[0])
    plt.close("all")
    assert mt.show(x[:, 3]) is None
    fig = plt.gcf()
    image = fig.axes[0].images[0]
    assert image.get_array().shape == (28, 28)
    assert image.get_cmap().name == "gray"
    assert not fig.axes[0].axison
    plt.close("all")
    with pytest.raises(ValueError):
        mt.show(np.zeros(10))
