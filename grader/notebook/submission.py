"""A submitted file: its bytes read safely, decoded as text; the cells it becomes, and the one-line error.

The submitted file is only ever opened for reading, without blocking and (on request) without
following a symbolic link; every failure is a NotebookError whose message is one line.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 50 * 1024 * 1024  # larger files are refused before being read
CELL_KINDS = ("code", "markdown", "raw")


class NotebookError(Exception):
    """An unusable submission; ``str(e)`` is one line: ``"<path>: <reason>"``."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = " ".join(str(reason).split())  # always a single line
        super().__init__(f"{self.path}: {self.reason}")


@dataclass(frozen=True)
class Cell:
    """One cell of a submission, as plain text."""

    index: int  # position among ALL cells, markdown included ("cell 7")
    kind: str  # one of CELL_KINDS
    source: str


@dataclass(frozen=True)
class Notebook:
    """A loaded submission: its cells, metadata, the digest of its bytes and what was repaired."""

    path: str
    cells: tuple[Cell, ...]
    metadata: dict  # notebook-level metadata ({} for .py exports)
    content_hash: str  # sha256 hex digest of the file's bytes
    repairs: tuple[str, ...] = field(default=())  # what was fixed on the way in

    def code_cells(self) -> list[Cell]:
        """The code cells, in order."""
        return [cell for cell in self.cells if cell.kind == "code"]


def read_submission(path: str | Path, *, follow_symlinks: bool = True, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a submitted file: a regular file, opened without blocking (a FIFO cannot hang
    the grader) and, unless `follow_symlinks`, without following a link to somewhere else."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
        if os.path.islink(path):
            target = os.readlink(path)
            raise NotebookError(path, f"is a symbolic link (to {target}), not a submitted file: not followed")
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise NotebookError(path, "file not found") from None
    except IsADirectoryError:
        raise NotebookError(path, "is a directory, not a notebook file") from None
    except PermissionError:
        raise NotebookError(path, "cannot read the file (permission denied)") from None
    except OSError as exc:
        if exc.errno == getattr(errno, "ELOOP", -1):
            raise NotebookError(path, "is a symbolic link, not a submitted file: not followed") from None
        raise NotebookError(path, f"cannot read the file ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise NotebookError(path, "is a directory, not a notebook file")
        if not stat.S_ISREG(info.st_mode):
            raise NotebookError(path, "not a regular file")
        if info.st_size > max_bytes:
            raise NotebookError(path, f"file too large ({info.st_size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB)")
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise NotebookError(path, f"file too large (over {max_bytes / 2**20:.0f} MB)")
        return b"".join(chunks)
    except OSError as exc:
        raise NotebookError(path, f"cannot read the file ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def decode(path: str | Path, data: bytes, encoding: str = "utf-8-sig") -> str:
    """The file's text; NotebookError for a binary file or bytes the encoding cannot read."""
    if b"\x00" in data[:65536]:
        raise NotebookError(path, "binary file, not a notebook")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise NotebookError(path, f"not UTF-8 text (undecodable byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    except LookupError:
        raise NotebookError(path, f"unknown text encoding {encoding!r}") from None
