"""The machine's differences (issue 11): data paths from a student's laptop, convenience imports not installed.

Staged beside worker.py (a sibling module; standard library and numpy only). Each function
here is contained: called from worker.main(), it touches only the student's side. None of
them makes the grader read a file or follow a name: they only make the student's own code
find what this sandbox folder already holds.
"""
from __future__ import annotations

import os
import sys

# Module-level names shadow the builtins: a notebook that patches builtins.isinstance
# or builtins.len cannot break the grader's side of this process.
from builtins import (  # noqa: A004
    ValueError, bool, dict, int, isinstance, sorted, str,
)

_DATA_NAME = None


def data_key(name: str):
    """'train-labels.idx1-ubyte.gz' -> 'train-labels'; None for a name that is not an MNIST-style data file."""
    import re

    global _DATA_NAME
    if _DATA_NAME is None:
        _DATA_NAME = re.compile(r"^(train|t10k|test)[-_.]?(images|labels)[-_.]idx[0-9][-_.]ubyte(\.gz)?$")
    match = _DATA_NAME.match(name.lower())
    if not match:
        return None
    return ("t10k" if match.group(1) == "test" else match.group(1)) + "-" + match.group(2)


def served_files(workdir: str) -> dict:
    """The files this folder holds, by lower-case name and (for MNIST data) by data_key."""
    served: dict = {}
    for name in sorted(os.listdir(workdir)):
        path = os.path.join(workdir, name)
        if os.path.isfile(path) and not name.endswith((".py", ".pyc")):
            served.setdefault(name.lower(), path)
            key = data_key(name)
            if key:
                served.setdefault(key, path)
    return served


def serve_data_everywhere(workdir: str, shell) -> None:
    """Let a data path from a student's laptop reach the copy served in this folder.

    A read of a path that does not exist, whose base name is a file this folder held when the
    worker started (or an MNIST data file under another spelling: idx1/idx3, dots or dashes,
    .gz or not), reads the local file instead: absolute /Users/... paths, ./mnist/ or ../data/
    folders. Only reads are redirected, only to files of this folder, and only when the path
    asked for does not exist. Wraps open/io.open, os.path.exists/isfile, gzip.open, np.fromfile.
    """
    import builtins
    import gzip
    import io as _io

    served = served_files(workdir)
    real_open, real_exists, real_isfile, real_gzip_open = builtins.open, os.path.exists, os.path.isfile, gzip.open

    def local(path):
        if isinstance(path, int):
            return None
        try:
            text = os.fsdecode(os.fspath(path))
        except (TypeError, ValueError):
            return None
        if not text or real_exists(text):
            return None
        base = text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()
        found = served.get(base) or served.get(data_key(base) or "")
        return found or (served.get(base[:-3]) if base.endswith(".gz") else None)

    def open_(file, mode="r", *args, **kwargs):
        if isinstance(mode, str) and not set(mode) & set("wax+"):
            file = local(file) or file
        return real_open(file, mode, *args, **kwargs)

    def gzip_open(filename, mode="rb", *args, **kwargs):
        alt = local(filename) if isinstance(mode, str) and "r" in mode else None
        if alt:
            with real_open(alt, "rb") as handle:
                plain = handle.read(2) != b"\x1f\x8b"
            if plain:  # the .gz asked for is served unpacked
                return real_open(alt, "r" if "t" in mode else "rb")
            filename = alt
        return real_gzip_open(filename, mode, *args, **kwargs)

    builtins.open = _io.open = open_
    shell.user_ns["open"] = open_  # IPython puts its own open() (bound to the original) in front of builtins
    os.path.exists = lambda path: real_exists(path) or bool(local(path))
    os.path.isfile = lambda path: real_isfile(path) or bool(local(path))
    gzip.open = gzip_open
    import numpy as np

    real_fromfile = np.fromfile

    def fromfile(file, *args, **kwargs):
        return real_fromfile(local(file) or file, *args, **kwargs)

    np.fromfile = fromfile


_TQDM = '''
class tqdm:
    """Stand-in for tqdm while grading (the real one is not installed): a plain iterator, no bar."""
    def __init__(self, iterable=None, *args, total=None, **kwargs):
        self.iterable, self.total, self.n = iterable, total, 0
    def __iter__(self):
        return iter(self.iterable if self.iterable is not None else ())
    def __len__(self):
        return len(self.iterable) if self.iterable is not None else int(self.total or 0)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return False
    def update(self, n=1):
        self.n += n
    def close(self):
        pass
    def set_description(self, *args, **kwargs):
        pass
    set_description_str = set_postfix = set_postfix_str = refresh = reset = clear = set_description
    @staticmethod
    def write(text, *args, **kwargs):
        print(text)

def trange(*args, **kwargs):
    return tqdm(range(*args), **kwargs)
'''


def install_convenience_shims() -> None:
    """Convenience imports that only draw progress bars (tqdm) become harmless when not installed."""
    import importlib.abc
    import importlib.machinery
    import importlib.util

    if importlib.util.find_spec("tqdm") is not None:
        return

    class Shim(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        names = ("tqdm", "tqdm.auto", "tqdm.notebook", "tqdm.std", "tqdm.autonotebook")

        def find_spec(self, fullname, path=None, target=None):
            if fullname in self.names:
                return importlib.machinery.ModuleSpec(fullname, self, is_package=fullname == "tqdm")
            return None

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            exec(compile(_TQDM, "<grader tqdm stand-in>", "exec"), module.__dict__)

    sys.meta_path.append(Shim())
