"""Where a graded submission's files go, and writing them: result JSON, report, Gradescope file,
and the class-wide overview and exports."""
from __future__ import annotations

import os
from pathlib import Path

from grader.outputs import exports, overview, report
from grader.outputs.manual import manual_for_result, manual_grades
from grader.result import Result, write_atomic


def output_paths(outdir: Path, submission: str) -> dict[str, Path]:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in submission) or "submission"
    return {
        "json": outdir / "results" / f"{safe}.json",
        "report": outdir / "reports" / f"{safe}.html",
        "gradescope": outdir / "gradescope" / safe / "results.json",
    }


def write_outputs(result: Result, outdir: Path) -> None:
    paths = output_paths(outdir, result.submission)
    manual = manual_for_result(outdir, result)  # points and comments from `grader review`: a regrade keeps them
    write_atomic(paths["json"], result.to_json())
    report.write_report(result, paths["report"], manual=manual)
    exports.write_gradescope(result, paths["gradescope"], manual=manual)


def write_class_outputs(results: list[Result], outdir: Path, spec, similar_pairs=None) -> None:
    functions = [fn.name for fn in spec.functions]
    manual = manual_grades(outdir, spec, [r.submission for r in results])
    links = {r.submission: os.path.relpath(output_paths(outdir, r.submission)["report"], outdir) for r in results}
    overview.write_overview(results, links, f"{spec.title} ({spec.id})", outdir / "index.html", similar_pairs=similar_pairs)
    exports.write_grades_csv(results, outdir / "grades.csv", functions, manual=manual)
    exports.write_canvas_csv(results, outdir / "canvas.csv", spec.id, spec.max_score, manual=manual)
