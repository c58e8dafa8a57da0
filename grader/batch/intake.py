"""What a class hands in, read before anything runs: one submission per student, nobody lost.

LMS exports are messy: a folder per student holding one notebook, several, none (a .docx, a
.zip), or flat files. Every student folder becomes exactly one submission:
- one notebook: graded;
- several: the one that defines the most graded names is graded, the others are listed;
- none: a submission without a notebook, graded 0 and marked for a person ("no notebook
  (found report.docx)");
- a .zip (as LMS exports hand them in): its notebooks are unpacked safely (sizes, counts and
  names bounded, no links, nothing outside the unpack folder) and treated as above.
Nothing here runs student code: choosing among notebooks parses them only.
"""
from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

NOTEBOOK_SUFFIXES = (".ipynb", ".py")
ZIP_MAX_MEMBERS = 2000  # entries in one archive
ZIP_MAX_NOTEBOOK_BYTES = 20 * 2**20  # one unpacked notebook
ZIP_MAX_TOTAL_BYTES = 100 * 2**20  # everything unpacked from one archive
NAMES_SHOWN = 5


@dataclass(frozen=True)
class Submission:
    id: str
    path: Path
    unusable: str = ""  # why there is nothing to grade ("no notebook (found report.docx)"): a 0 for a person
    note: str = ""  # how this notebook was chosen, when there was a choice
    others: tuple[str, ...] = ()  # notebooks found beside it and not graded


@dataclass
class Intake:
    submissions: list[Submission] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)  # flat files given that are not notebooks
    folders: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)  # "alice/submission.zip: a member's name leaves the folder"

    @property
    def without_notebook(self) -> list[Submission]:
        return [s for s in self.submissions if s.unusable]

    @property
    def with_several(self) -> list[Submission]:
        return [s for s in self.submissions if s.others]

    def summary(self) -> list[str]:
        """What was found, in a few lines, before grading starts."""
        parts = []
        if self.folders:
            usable = self.folders - sum(1 for s in self.submissions if s.unusable and s.path.is_dir())
            parts.append(f"{self.folders} folder{'s' if self.folders != 1 else ''}: {usable} with a notebook, "
                         f"{len(self.without_notebook)} without one, {len(self.with_several)} with several")
        if self.files:
            parts.append(f"{self.files} notebook file{'s' if self.files != 1 else ''}")
        lines = ["Found " + "; ".join(parts or ["nothing to grade"]) + "."]
        for sub in self.without_notebook[:NAMES_SHOWN]:
            lines.append(f"  {sub.id}: {sub.unusable}: 0, needs a person")
        if len(self.without_notebook) > NAMES_SHOWN:
            lines.append(f"  ... and {len(self.without_notebook) - NAMES_SHOWN} more without a notebook")
        for sub in self.with_several[:NAMES_SHOWN]:
            lines.append(f"  {sub.id}: {sub.note}")
        if len(self.with_several) > NAMES_SHOWN:
            lines.append(f"  ... and {len(self.with_several) - NAMES_SHOWN} more with several notebooks")
        lines += [f"  {problem}" for problem in self.problems]
        lines += [f"  ignored (not a notebook): {path}" for path in self.ignored]
        return lines


def collect(paths: list[str | Path], unpack_to: Path, graded_names: tuple[str, ...] = ()) -> Intake:
    """Submissions from files and folders: a folder per student names the student.

    Inside the folders given, symbolic links are never followed: a link where a notebook or a
    student's folder should be is a submission of its own, graded as unusable input. Zips are
    unpacked below `unpack_to`, which the caller owns.
    """
    intake = Intake()
    found: list[Submission] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            intake.files += 1
            found.append(Submission(path.stem, path))  # named explicitly: always attempted
            continue
        for child in sorted(path.iterdir()):
            if child.name.startswith("."):
                continue
            if child.is_symlink():
                intake.files += 1
                found.append(Submission(child.stem if child.suffix in NOTEBOOK_SUFFIXES else child.name, child))
            elif child.is_dir():
                intake.folders += 1
                found.append(_student_folder(child.name, child, unpack_to, graded_names, intake))
            elif child.suffix in NOTEBOOK_SUFFIXES:
                intake.files += 1
                found.append(Submission(child.stem, child))
            elif child.suffix.lower() == ".zip":
                intake.folders += 1
                found.append(_student_folder(child.stem, None, unpack_to, graded_names, intake, archives=[child]))
            else:
                intake.ignored.append(child)
    intake.submissions = _unique_ids(found)
    return intake


def _student_folder(student: str, folder: Path | None, unpack_to: Path, graded_names: tuple[str, ...],
                    intake: Intake, archives: list[Path] | None = None) -> Submission:
    """The one submission of a student's folder (or of a zip handed in as the student's folder)."""
    notebooks, other_files, archives = [], [], list(archives or [])
    if folder is not None:
        for candidate in _files_below(folder):
            if candidate.suffix in NOTEBOOK_SUFFIXES:
                notebooks.append(candidate)
            elif candidate.suffix.lower() == ".zip" and not candidate.is_symlink():
                archives.append(candidate)
            else:
                other_files.append(candidate)
    for archive in archives:
        target = unpack_to / _safe(student) / _safe(archive.name)
        unpacked, problem = unpack_notebooks(archive, target)
        notebooks += unpacked
        if problem:
            intake.problems.append(f"{student}/{archive.name}: {problem}")
    where = folder if folder is not None else archives[0]
    if not notebooks:
        seen = sorted({p.name for p in [*other_files, *archives]})
        shown = ", ".join(seen[:NAMES_SHOWN]) + (f" and {len(seen) - NAMES_SHOWN} more" if len(seen) > NAMES_SHOWN else "")
        return Submission(student, where, unusable=f"no notebook (found {shown})" if seen else "no notebook (the folder is empty)")
    if len(notebooks) == 1:
        return Submission(student, notebooks[0])
    return _choose(student, notebooks, graded_names)


def _files_below(folder: Path):
    """Files under a student's folder; links are listed as files but never entered."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints" and not d.startswith(".") and d != "__MACOSX")
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def _choose(student: str, notebooks: list[Path], graded_names: tuple[str, ...]) -> Submission:
    """Several notebooks: the one defining the most graded names; ties go to .ipynb, then the larger file."""
    counts = {path: len(defined_graded_names(path, graded_names)) for path in notebooks}

    def rank(path: Path):
        return (counts[path], path.suffix == ".ipynb", _size(path), -len(path.parts), str(path))

    chosen = max(notebooks, key=rank)
    others = sorted((p for p in notebooks if p != chosen), key=rank, reverse=True)
    total = len(graded_names)
    why = (f"graded {chosen.name}: it defines {counts[chosen]} of the {total} graded functions"
           + "; also found " + ", ".join(f"{p.name} ({counts[p]})" for p in others[:NAMES_SHOWN]))
    if len(others) > NAMES_SHOWN:
        why += f" and {len(others) - NAMES_SHOWN} more"
    return Submission(student, chosen, note=why, others=tuple(p.name for p in others))


def defined_graded_names(path: Path, graded_names: tuple[str, ...]) -> set[str]:
    """Graded names a notebook defines (functions, or methods of its classes), read without running it."""
    from grader.notebook.definitions import defined_functions
    from grader.notebook.load import NotebookError, load_notebook

    try:
        notebook = load_notebook(path, follow_symlinks=False)
    except NotebookError:
        return set()
    try:
        names = {name.rsplit(".", 1)[-1] for name in defined_functions(notebook)}
    except Exception:  # noqa: BLE001 - a notebook that cannot be read counts as defining nothing
        return set()
    return names & set(graded_names)


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def unpack_notebooks(archive: Path, target: Path) -> tuple[list[Path], str]:
    """Unpack the notebooks of a zip into `target`: (their paths, a problem in words or "").

    Only .ipynb and .py members are written. A member is refused when its name is absolute or
    leaves the folder, when it is a link, or past the limits on members and sizes; sizes are
    counted as bytes are really read, not as the archive declares them (a zip bomb lies).
    """
    try:
        if archive.is_symlink() or not archive.is_file():
            return [], "not a regular file"
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > ZIP_MAX_MEMBERS:
                return [], f"{len(members)} entries (at most {ZIP_MAX_MEMBERS} are read)"
            return _extract(zf, members, target)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        return [], f"not a readable zip ({type(exc).__name__})"


def _extract(zf: zipfile.ZipFile, members: list[zipfile.ZipInfo], target: Path) -> tuple[list[Path], str]:
    written, problems, total = [], [], 0
    for info in members:
        name = PurePosixPath(info.filename.replace("\\", "/"))
        if info.is_dir() or name.suffix not in NOTEBOOK_SUFFIXES or "__MACOSX" in name.parts:
            continue
        if name.is_absolute() or ".." in name.parts or (name.parts and ":" in name.parts[0]):
            problems.append(f"{info.filename}: its name leaves the folder, not unpacked")
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(f"{info.filename}: a link, not unpacked")
            continue
        with zf.open(info) as stream:
            data = stream.read(ZIP_MAX_NOTEBOOK_BYTES + 1)
        if len(data) > ZIP_MAX_NOTEBOOK_BYTES or total + len(data) > ZIP_MAX_TOTAL_BYTES:
            problems.append(f"{info.filename}: larger than the unpack limit, not unpacked")
            break
        total += len(data)
        destination = target.joinpath(*name.parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data)
        written.append(destination)
    return written, "; ".join(problems)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).lstrip(".") or "_"


def _unique_ids(found: list[Submission]) -> list[Submission]:
    seen: dict[str, int] = {}
    unique = []
    for sub in found:
        count = seen.get(sub.id, 0)
        seen[sub.id] = count + 1
        unique.append(sub if count == 0 else Submission(f"{sub.id}-{count + 1}", sub.path, sub.unusable, sub.note, sub.others))
    return unique
