"""Which assignment a grading process grades with: the same one as the command line, or a harness fault.

A pool worker, a Dask worker on another machine and the warm process each load the spec again.
Loading it by id would silently take the bundled spec of that id when the command line was given
a course's own folder (`-a mycourse/hw1`). So every process gets an `AssignmentRef` (id, folder,
digest): it loads the folder when it exists there, else the id, and grades only when the digest of
what it loaded (spec, bank, handout) is the command line's.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from grader.checks.spec import Spec, SpecError, load_spec


class AssignmentMismatch(Exception):
    """This process cannot load the assignment the command line grades with: a fault of the setup, never a grade."""


@dataclass(frozen=True)
class AssignmentRef:
    id: str
    folder: str
    digest: str

    @classmethod
    def of(cls, spec: Spec) -> "AssignmentRef":
        return cls(spec.id, str(Path(spec.folder).resolve()), spec.digest)

    def load(self) -> Spec:
        """The spec this reference names, checked against its digest."""
        where = Path(self.folder)
        try:
            spec = load_spec(where) if (where / "spec.toml").is_file() else load_spec(self.id)
        except SpecError as exc:
            raise AssignmentMismatch(f"assignment {self.id!r} cannot be loaded here: {exc}") from None
        if spec.digest != self.digest:
            raise AssignmentMismatch(
                f"assignment {self.id!r} here ({spec.folder}, {spec.digest}) is not the one being graded "
                f"({self.folder}, {self.digest}): install the same assignment on every worker")
        return spec


def ref_for(assignment: "str | os.PathLike[str] | Spec") -> AssignmentRef:
    if isinstance(assignment, Spec):
        return AssignmentRef.of(assignment)
    return AssignmentRef.of(load_spec(assignment))
