"""`grader review`: a local web page for grading the manual items of a graded class.

Standard library only (http.server.ThreadingHTTPServer): one page per student, rendered by
jinja2 with autoescaping; the student's answers are sanitised HTML (grader/answers.py) and every
page carries a Content-Security-Policy with no fetches and one script pinned by its hash.

Access, as Jupyter does it: the server binds to 127.0.0.1 only and prints a URL with a random
token. The first visit with `?token=` sets a cookie for this port; any request without the
token (query or cookie) gets 403, and every POST must also carry it in the form (so another
site cannot post into the gradebook). A Host header other than localhost is refused too.

Points and comments go to the gradebook (`Gradebook.record_manual`): every entry is kept with
who and when; a save that would overwrite an item someone else changed since the page was
loaded is refused and shown, so two TAs can work at once.
"""
from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from grader.outputs.classflags import without_common_copy_flags
from grader.outputs.gradebook import Gradebook, ManualConflict
from grader.outputs.manual import ManualGrade, grades_from_book
from grader.outputs.formatting import fmt_points
from grader.outputs.pages import ENV

_JS_PATH = Path(__file__).resolve().parents[1] / "templates" / "review.js"
MAX_BODY = 1_000_000


class ReviewError(Exception):
    """The folder cannot be reviewed (no gradebook, no such assignment...)."""


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
            f"script-src 'sha256-{digest}'; form-action 'self'; base-uri 'none'")


@dataclass
class ReviewApp:
    """Everything a request needs: the class, the gradebook, who is grading."""

    outdir: Path
    spec: Any
    who: str
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    write_files: bool = True  # rewrite the student's report and the exports after each save

    def __post_init__(self) -> None:
        self.book = Gradebook(self.outdir / "gradebook.sqlite")
        self.script = _JS_PATH.read_text(encoding="utf-8").strip()
        self.csp = _csp(self.script)
        self._answers: dict[str, tuple[str, Any]] = {}  # submission -> (content hash, Answers)

    # ------------------------------------------------------------ data

    def results(self) -> dict[str, Any]:
        return {r.submission: r for r in without_common_copy_flags(self.book.current_results(self.spec.id))}

    def grades(self, submissions: list[str]) -> dict[str, ManualGrade]:
        return grades_from_book(self.book, self.spec.id, self.spec.manual_items, submissions)

    def answers(self, result) -> Any:
        from grader.outputs.answers import read_answers

        cached = self._answers.get(result.submission)
        if cached and cached[0] == result.content_hash and result.content_hash:
            return cached[1]
        answers = read_answers(result.notebook, self.spec.manual_items, self.spec.folder)
        self._answers[result.submission] = (result.content_hash, answers)
        return answers

    # ------------------------------------------------------------ pages

    def index_page(self) -> str:
        results = self.results()
        names = sorted(results)
        grades = self.grades(names)
        done = sum(grades[n].complete for n in names)
        first = next((n for n in names if not grades[n].complete), names[0] if names else None)
        return ENV.get_template("review_index.html").render(
            spec=self.spec, names=names, results=results, grades=grades, done=done, first=first,
            href=self.href, fmt_points=fmt_points, who=self.who, csp=self.csp, script=self.script)

    def student_page(self, submission: str, messages: list[str] = (), status: str = "") -> str | None:
        results = self.results()
        if submission not in results:
            return None
        names = sorted(results)
        grades = self.grades(names)
        k = names.index(submission)
        result = results[submission]
        grade = grades[submission]
        answers = self.answers(result)
        focus = next((item.id for item in self.spec.manual_items if not grade.reviewed(item.id)),
                     self.spec.manual_items[0].id if self.spec.manual_items else "")
        from grader.outputs.curves import curves_for, source_of

        curves = curves_for(self.spec.manual_items, source_of(result))
        return ENV.get_template("review.html").render(
            spec=self.spec, r=result, grade=grade, answers=answers, curves=curves, messages=messages, status=status,
            prev=names[k - 1] if k > 0 else None, next=names[k + 1] if k + 1 < len(names) else None,
            position=k + 1, count=len(names), done=sum(g.complete for g in grades.values()),
            focus=focus, token=self.token, who=self.who, href=self.href, fmt_points=fmt_points,
            history=self.book.manual_history(self.spec.id, submission), csp=self.csp, script=self.script)

    def notebook_page(self, submission: str) -> str | None:
        result = self.results().get(submission)
        if result is None:
            return None
        return ENV.get_template("review_notebook.html").render(
            r=result, answers=self.answers(result), href=self.href, csp=self.csp, script=self.script)

    def report_page(self, submission: str) -> str | None:
        from grader.outputs.report import render_report

        result = self.results().get(submission)
        if result is None:
            return None
        return render_report(result, self.grades([submission])[submission], self.answers(result))

    @staticmethod
    def href(kind: str, submission: str | None = None) -> str:
        return f"/{kind}/" + quote(submission or "", safe="") if submission is not None else f"/{kind}"

    # ------------------------------------------------------------ saving

    def save(self, submission: str, form: dict[str, str]) -> tuple[list[str], bool]:
        """Record the items whose points or comment changed; returns (messages, all saved)."""
        messages, ok = [], True
        for item in self.spec.manual_items:
            raw = form.get(f"points-{item.id}", "").strip()
            comment = form.get(f"comment-{item.id}", "").replace("\r\n", "\n").strip()
            was_raw = form.get(f"was-points-{item.id}", "").strip()
            was_comment = form.get(f"was-comment-{item.id}", "").replace("\r\n", "\n").strip()
            if (raw, comment) == (was_raw, was_comment):
                continue
            points = None
            if raw:
                try:
                    points = float(raw.replace(",", "."))
                except ValueError:
                    points = -1.0
                if not 0 <= points <= item.points:
                    messages.append(f"{item.label}: points must be between 0 and {fmt_points(item.points)}, not {raw!r}; not saved")
                    ok = False
                    continue
            try:
                seen = int(form.get(f"seen-{item.id}", "0") or 0)
            except ValueError:
                seen = 0
            try:
                self.book.record_manual(self.spec.id, submission, item.id, points, comment, self.who, expect=seen)
            except ManualConflict as exc:
                latest = exc.latest
                messages.append(f"{item.label}: {latest.who} saved {fmt_points(latest.points) if latest.points is not None else 'no points'}"
                                f" at {latest.at} while you were editing; yours ({raw or 'no points'}) was not saved: check and save again")
                ok = False
        if self.write_files:
            self.write_outputs(submission)
        return messages, ok

    def write_outputs(self, submission: str) -> None:
        """The student's report and Gradescope file, grades.csv and canvas.csv, with the manual part."""
        from grader.outputs import exports
        from grader.outputs.files import output_paths
        from grader.outputs.report import write_report

        results = self.results()
        grades = self.grades(sorted(results))
        result = results[submission]
        paths = output_paths(self.outdir, submission)
        write_report(result, paths["report"], manual=grades[submission])
        exports.write_gradescope(result, paths["gradescope"], manual=grades[submission])
        ordered = [results[n] for n in sorted(results)]
        exports.write_grades_csv(ordered, self.outdir / "grades.csv", [fn.name for fn in self.spec.functions], manual=grades)
        exports.write_canvas_csv(ordered, self.outdir / "canvas.csv", self.spec.id, self.spec.max_score, manual=grades)


class _Handler(BaseHTTPRequestHandler):
    app: ReviewApp  # set on the subclass made by make_server
    server_version = "grader-review"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal shows the URL only
        pass

    # ------------------------------------------------------------ plumbing

    def _cookie_name(self) -> str:
        return f"grader_review_{self.server.server_address[1]}"

    def _authorised(self, query: dict[str, list[str]]) -> bool:
        token = self.app.token.encode()
        given = (query.get("token") or [""])[0]
        if given and hmac.compare_digest(given.encode(), token):
            return True
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        morsel = cookie.get(self._cookie_name())
        return morsel is not None and hmac.compare_digest(morsel.value.encode(), token)

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        return host in ("127.0.0.1", "localhost", "::1")

    def _send(self, status: int, body: str, extra: dict[str, str] | None = None, csp: str | None = None) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Security-Policy", (csp or self.app.csp) + "; frame-ancestors 'none'")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Frame-Options", "DENY")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _refuse(self, status: int = 403, text: str = "Forbidden: open the URL with the token that `grader review` printed.") -> None:
        self._send(status, f"<!DOCTYPE html><title>{status}</title><p>{text}</p>", csp="default-src 'none'")

    def _redirect(self, location: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def _route(self) -> tuple[str, str | None, dict[str, list[str]]] | None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if not self._host_ok() or not self._authorised(query):
            return None
        segments = parts.path.strip("/").split("/", 1)
        kind = segments[0] or "index"
        return kind, unquote(segments[1]) if len(segments) > 1 else None, query

    # ------------------------------------------------------------ verbs

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        route = self._route()
        if route is None:
            return self._refuse()
        kind, submission, query = route
        if "token" in query:  # remember the token for this port, then drop it from the address bar
            cookie = f"{self._cookie_name()}={self.app.token}; Path=/; HttpOnly; SameSite=Strict"
            return self._redirect(urlsplit(self.path).path or "/", {"Set-Cookie": cookie})
        pages = {"index": lambda: self.app.index_page(), "s": lambda: self.app.student_page(submission or ""),
                 "nb": lambda: self.app.notebook_page(submission or ""), "report": lambda: self.app.report_page(submission or "")}
        if kind not in pages:
            return self._refuse(404, "No such page.")
        body = pages[kind]()
        if body is None:
            return self._refuse(404, "No such submission.")
        # A report carries its own stricter CSP (no script at all).
        self._send(200, body, csp="default-src 'none'; img-src data:; style-src 'unsafe-inline'" if kind == "report" else None)

    def do_POST(self) -> None:  # noqa: N802
        route = self._route()
        length = int(self.headers.get("Content-Length") or 0)
        if route is None or length > MAX_BODY:
            return self._refuse()
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8", "replace"), keep_blank_values=True).items()}
        if not hmac.compare_digest(form.get("token", "").encode(), self.app.token.encode()):
            return self._refuse()
        kind, submission, _ = route
        results = self.app.results()
        if kind != "s" or submission not in results:
            return self._refuse(404, "No such submission.")
        messages, ok = self.app.save(submission, form)
        if not ok:
            return self._send(409, self.app.student_page(submission, messages, "error") or "")
        names = sorted(results)
        go = form.get("go", "next")
        k = names.index(submission)
        target = {"next": names[k + 1] if k + 1 < len(names) else None,
                  "prev": names[k - 1] if k > 0 else None, "stay": submission}.get(go, submission)
        self._redirect(self.app.href("s", target) + ("?saved=1" if go == "stay" else "") if target else "/")


def make_server(app: ReviewApp, port: int = 0) -> ThreadingHTTPServer:
    """A server on 127.0.0.1 (port 0: any free port); call serve_forever() on it."""
    handler = type("ReviewHandler", (_Handler,), {"app": app})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    return server


def url_of(server: ThreadingHTTPServer, app: ReviewApp) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/?token={app.token}"


def open_app(outdir: str | Path, assignment: str | None = None, who: str | None = None) -> ReviewApp:
    """The review app over OUTDIR/gradebook.sqlite; ReviewError when there is nothing to review."""
    from grader.checks.spec import SpecError, is_folder_name, load_spec

    outdir = Path(outdir)
    folder = assignment if assignment is not None and is_folder_name(assignment) else None
    if folder is not None:  # a course's own folder: the gradebook knows it by its id
        try:
            assignment = load_spec(folder).id
        except SpecError as exc:
            raise ReviewError(str(exc)) from None
    if not (outdir / "gradebook.sqlite").exists():
        raise ReviewError(f"{outdir}: no gradebook.sqlite here (run `grader grade ... -o {outdir}` first)")
    with Gradebook(outdir / "gradebook.sqlite") as book:
        graded = book.assignments()
    if assignment is None:
        if len(graded) != 1:
            raise ReviewError(f"{outdir}: the gradebook holds {', '.join(graded) or 'no assignment'}; choose one with -a")
        assignment = graded[0]
    elif assignment not in graded:
        raise ReviewError(f"{outdir}: no graded submission of {assignment!r} here")
    try:
        spec = load_spec(folder or assignment)
    except SpecError as exc:
        raise ReviewError(str(exc)) from None
    if not spec.manual_items:
        raise ReviewError(f"{assignment}: its spec lists nothing to review by hand (manual_review)")
    app = ReviewApp(outdir, spec, who or getpass.getuser())
    from grader.outputs.curves import source_of, warm

    results = list(app.results().values())
    warm(spec.manual_items, source_of(results[0]) if results else None)  # reference curves ready by the first page
    return app
