"""Grade every corpus notebook and keep its result JSON, to prove a change of code changes no grade.

    python scripts/snapshot_results.py OUTDIR            grade, write OUTDIR/<corpus>/<file>.json
    python scripts/snapshot_results.py --compare A B     list every difference between two snapshots

It drives the command line only (`grader grade`), so the same script grades an older checkout
(run it with that checkout first on PYTHONPATH). Timing fields and the grader's own version are
dropped before comparing; everything else (scores, statuses, texts, diagnoses, flags, attention)
must be equal.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "tests" / "resources"
VOLATILE = {"notebook", "spec_version", "seconds", "graded_at", "grading", "timestamp", "started", "finished", "wall", "containment", "harness_seconds"}
TEMP_PATH = re.compile(r"/tmp/[^/\s]+/")  # a temp folder's random name


def corpora() -> dict[str, list[tuple[str, Path]]]:
    """corpus name -> (assignment, notebook) pairs."""
    found: dict[str, list[tuple[str, Path]]] = {
        "corpus": [("shallow-backprop", p) for p in sorted((RESOURCES / "corpus").iterdir())],
        "notebooks": [("shallow-backprop", p) for p in sorted((RESOURCES / "notebooks").glob("*.ipynb"))],
        "examples": [("shallow-backprop", ROOT / "examples" / "shallow-backprop")],  # a folder per student
    }
    expected = json.loads((RESOURCES / "real" / "expected.json").read_text())
    found["real"] = [(entry["assignment"], RESOURCES / "real" / name)
                     for name, entry in sorted(expected.items()) if not name.startswith("_")]
    return found


def normalise(value):
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        return TEMP_PATH.sub("/tmp/X/", value)
    return value


def snapshot(outdir: Path, extra: list[str], which: dict[str, list[tuple[str, Path]]] | None = None) -> None:
    """Grade `which` corpora (default: all of them) with `grader grade ... *extra`."""
    for corpus, pairs in (which or corpora()).items():
        by_assignment: dict[str, list[Path]] = {}
        for assignment, path in pairs:
            by_assignment.setdefault(assignment, []).append(path)
        for assignment, paths in by_assignment.items():
            with tempfile.TemporaryDirectory() as tmp:
                # one flat folder of copies (links are refused as submissions), ids are the file names
                staged = Path(tmp) / "in"
                staged.mkdir()
                for path in paths:
                    if path.is_dir():
                        shutil.copytree(path, staged, dirs_exist_ok=True)
                    else:
                        shutil.copy(path, staged / path.name)
                reports = Path(tmp) / "out"
                cmd = [sys.executable, "-m", "grader", "grade", str(staged), "-a", assignment, "-o", str(reports),
                       "-j", "2", "--cell-timeout", "20", *extra]
                subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
                for result in sorted((reports / "results").glob("*.json")):
                    data = normalise(json.loads(result.read_text()))
                    target = outdir / corpus / result.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(json.dumps(data, indent=1, sort_keys=True))
            print(f"{corpus}/{assignment}: {len(paths)} notebooks", flush=True)


def compare(a: Path, b: Path) -> int:
    names = sorted({p.relative_to(a) for p in a.rglob("*.json")} | {p.relative_to(b) for p in b.rglob("*.json")})
    differences = 0
    for name in names:
        left, right = a / name, b / name
        if not left.exists() or not right.exists():
            print(f"{name}: only in {'B' if not left.exists() else 'A'}")
            differences += 1
            continue
        x, y = normalise(json.loads(left.read_text())), normalise(json.loads(right.read_text()))
        if x != y:
            differences += 1
            print(f"{name}: differs (score {x.get('score')} vs {y.get('score')})")
    print(f"{len(names)} results compared, {differences} differ")
    return 1 if differences else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--lean", action="store_true", help="grade with --lean")
    args = parser.parse_args()
    if args.compare:
        return compare(*args.paths[:2])
    snapshot(args.paths[0], ["--lean"] if args.lean else [])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
