"""The student's side: runs notebook cells in an IPython shell and answers probe calls.

This file is copied alone into the sandbox and run there as a script, so it
imports nothing from the project: only the standard library, numpy and
IPython. It speaks JSON lines with the grader over two private file
descriptors (duplicated from stdin/stdout at start-up, before any student
code runs); the student's own prints go to a capped capture instead.

Values cross the boundary as a JSON tree followed by the raw bytes of its
arrays (dtype and shape in the header, see channel.py): nothing is ever
pickled, and nothing goes through a file.
"""
from __future__ import annotations

import io
import json
import os
import signal
import sys
import time
import traceback

# Module-level names shadow the builtins: a notebook that patches builtins.isinstance
# or builtins.len cannot break the grader's side of this process.
from builtins import (  # noqa: A004
    BaseException, Exception, KeyError, ValueError, abs, bool, dict, enumerate, float, getattr,
    hasattr, int, isinstance, len, list, max, min, next, open, print, range, repr, setattr,
    sorted, str, tuple, type, zip,
)

# Set by main(): the grader's private channel, taken before any student code runs.
PROTOCOL_IN = None
PROTOCOL_OUT = None


class Opaque:
    """A returned object that is not plain data: only its type name and a short repr cross over."""

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


class GradingTimeout(BaseException):
    """Raised by the interval timer when a cell or call runs past its limit."""


class CappedStream(io.TextIOBase):
    """A text stream that keeps the first `limit` characters per cell and counts the rest."""

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.reset()

    def reset(self) -> None:
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def take(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n... [{self.dropped} more characters of output dropped]"
        self.reset()
        return out


def redirect_process_output() -> None:
    """Point fds 0-2 away from the protocol: stdin empty, C-level output discarded."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def on_timer(signum, frame):
    raise GradingTimeout()


def start_timer(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))


def stop_timer() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)


def send(message: dict, arrays: dict | None = None) -> None:
    """One framed message: a JSON line, then the raw bytes of each array (see channel.py)."""
    meta, parts = [], []
    if arrays:
        import numpy as np
    for key, array in (arrays or {}).items():
        array = np.ascontiguousarray(array)
        meta.append({"k": key, "dtype": array.dtype.str, "shape": list(array.shape)})
        parts.append(array.tobytes())
    message = dict(message, arrays=meta, nbytes=sum(len(p) for p in parts))
    PROTOCOL_OUT.write(json.dumps(message).encode() + b"\n")
    for part in parts:
        PROTOCOL_OUT.write(part)
    PROTOCOL_OUT.flush()


def receive():
    """The grader's next message and its arrays, or (None, {}) when the grader is gone."""
    import numpy as np

    line = PROTOCOL_IN.readline()
    if not line:
        return None, {}
    message = json.loads(line)
    arrays = {}
    for item in message.get("arrays", []):
        dtype = np.dtype(item["dtype"])
        count = 1
        for n in item["shape"]:
            count *= n
        data = PROTOCOL_IN.read(count * dtype.itemsize)
        arrays[item["k"]] = np.frombuffer(data, dtype=dtype).reshape(item["shape"]).copy()
    return message, arrays


def drop_privileges() -> None:
    """Started as root inside bubblewrap: become the unprivileged uid before anything else runs."""
    target = os.environ.pop("GRADER_DROP_TO", "")
    if not target:
        return
    import privilege  # staged beside this script; every step checked, a failure ends the worker

    privilege.drop_to(int(target))


# ---------------------------------------------------------------- values


def decode(tree, arrays):
    """Turn a JSON value tree and its arrays back into Python values."""
    import numpy as np

    kind = tree["t"]
    if kind == "array":
        return np.array(arrays[tree["k"]])
    if kind in ("float", "int", "bool", "str"):
        return tree["v"]
    if kind == "none":
        return None
    if kind == "tuple":
        return tuple(decode(item, arrays) for item in tree["items"])
    if kind == "list":
        return [decode(item, arrays) for item in tree["items"]]
    if kind == "dict":
        return {key: decode(item, arrays) for key, item in tree["items"].items()}
    if kind == "object":
        return Opaque(tree.get("type", "object"), tree.get("repr", ""))
    raise ValueError(f"unknown value kind {kind!r}")


def encode(value, arrays, depth=0):
    """A JSON value tree for `value`, putting arrays into `arrays`; unknown objects by type name."""
    import numpy as np

    if depth > 6:
        return {"t": "object", "type": type(value).__name__, "repr": "(nested too deep)"}
    if value is None:
        return {"t": "none"}
    if isinstance(value, (bool, np.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, (int, np.integer)) and abs(int(value)) < 2**53:
        return {"t": "int", "v": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"t": "float", "v": float(value)}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        key = f"a{len(arrays)}"
        arrays[key] = np.ascontiguousarray(value)
        return {"t": "array", "k": key}
    if isinstance(value, (tuple, list)) and len(value) <= 10000:
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {"t": kind, "items": [encode(item, arrays, depth + 1) for item in value]}
    if isinstance(value, dict) and len(value) <= 1000 and all(isinstance(k, str) for k in value):
        return {"t": "dict", "items": {k: encode(v, arrays, depth + 1) for k, v in value.items()}}
    if isinstance(value, str):
        return {"t": "str", "v": value[:2000]}
    try:
        text = repr(value)[:200]
    except BaseException:
        text = "(repr failed)"
    return {"t": "object", "type": type(value).__name__, "repr": text}


def snapshot(value):
    """A deep copy of the arrays inside an argument, to notice in-place changes."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(snapshot(v) for v in value) if isinstance(value, tuple) else [snapshot(v) for v in value]
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    return value


def same(a, b) -> bool:
    """Equality that no patch of numpy by the student can change: shapes, dtypes and raw bytes."""
    import numpy as np

    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except BaseException:
        return False


# ---------------------------------------------------------------- the shell


def make_shell(workdir: str):
    """An IPython shell with notebook-like magics that cannot leave the sandbox."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.text import SList

    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # no history file, no saving thread (a warm process forks this shell)
    shell = InteractiveShell.instance(colors="NoColor", config=config)
    # The grader formats errors itself (error_text, traceback_tail); IPython's coloured traceback
    # of a deep recursion alone takes seconds.
    shell.showtraceback = lambda *args, **kwargs: None

    def no_shell(cmd):
        print(f"[grader] shell command not run while grading: !{cmd}")
        return 0

    shell.system = no_shell
    shell.system_raw = no_shell
    shell.system_piped = no_shell
    shell.getoutput = lambda cmd, split=True, depth=0: SList()

    def matplotlib_magic(line):  # inline or notebook: figures are drawn off-screen
        import matplotlib

        matplotlib.use("Agg", force=True)

    def load_magic(line):
        path = line.split()[-1] if line.split() else ""
        if not path or not os.path.isfile(path):
            raise FileNotFoundError(f"%load: no file {path!r} in the grading folder")
        with open(path, encoding="utf-8", errors="replace") as handle:
            source = handle.read()
        outcome = shell.run_cell(source, store_history=False)
        if outcome.error_in_exec is not None:
            raise outcome.error_in_exec
        if outcome.error_before_exec is not None:
            raise outcome.error_before_exec

    shell.register_magic_function(matplotlib_magic, "line", "matplotlib")
    shell.register_magic_function(load_magic, "line", "load")
    for name in ("pip", "conda"):
        shell.register_magic_function(lambda line, _n=name: print(f"[grader] %{_n} is not run while grading"), "line", name)

    # MPLBACKEND=Agg is set in the environment, so pyplot needs no import here (it is slow).
    return shell


def error_text(exc: BaseException) -> str:
    if isinstance(exc, GradingTimeout):
        return "timeout"
    name = type(exc).__name__
    message = str(exc).strip().splitlines()
    return f"{name}: {message[0][:300]}" if message else name


def traceback_tail(exc: BaseException, lines: int = 12) -> str:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    tail = text.strip().splitlines()[-lines:]
    return "\n".join(line for line in tail if "grader_worker.py" not in line)


def run_cell(shell, message, stdout: CappedStream, stderr: CappedStream) -> dict:
    started = time.perf_counter()
    start_timer(message["timeout"])
    error = None
    try:
        outcome = shell.run_cell(message["source"], store_history=True, silent=False)
        error = outcome.error_before_exec or outcome.error_in_exec
    except GradingTimeout as exc:
        error = exc
    except BaseException as exc:  # SystemExit and friends raised past IPython
        error = exc
    finally:
        stop_timer()
    reply = {"op": "cell", "index": message["index"], "seconds": time.perf_counter() - started}
    if error is None:
        reply["status"] = "ok"
    else:
        reply["status"] = "timeout" if isinstance(error, GradingTimeout) else "error"
        reply["error"] = error_text(error)
        reply["traceback"] = traceback_tail(error)
    reply["stdout"] = stdout.take()[:4000]
    reply["stderr"] = stderr.take()[:4000]
    return reply


# ---------------------------------------------------------------- probe calls


def helper_proxy(name: str, call_id: int):
    """A stand-in for one of the student's helpers that asks the grader for the reference's answer."""

    def proxy(*args, **kwargs):
        arrays: dict = {}
        tree = encode({"args": list(args), "kwargs": kwargs}, arrays)
        send({"op": "helper", "id": call_id, "name": name, "tree": tree}, arrays)
        answer, answer_arrays = receive()
        if answer is None or answer.get("status") != "ok":
            raise RuntimeError(f"reference {name} could not be used: {answer and answer.get('error')}")
        return decode(answer["tree"], answer_arrays)

    proxy.__name__ = name
    return proxy


def resolve_target(shell, spec):
    """The callable named by the call spec, or a reason it is not there."""
    ns = shell.user_ns
    if spec.get("class"):
        cls = ns.get(spec["class"])
        if cls is None:
            return None, f"class {spec['class']} is not defined"
        return cls, None
    fn = ns.get(spec["function"])
    if fn is None:
        return None, f"{spec['function']} is not defined"
    if not callable(fn):
        return None, f"{spec['function']} is a {type(fn).__name__}, not a function"
    return fn, None


def do_call(shell, message, arrays, stdout: CappedStream, stderr: CappedStream):
    """Call the named function on the inputs; returns the reply and the arrays to send with it."""
    import numpy as np

    spec = message["spec"]
    ns = shell.user_ns
    started = time.perf_counter()
    inputs = decode(message["tree"], arrays)
    reply = {"op": "result", "id": message["id"]}
    out: dict = {}
    target, missing = resolve_target(shell, spec)
    if missing:
        reply.update(status="missing", error=missing)
        return reply, out

    target = kept_definition(spec) or target
    undo = install_helpers(ns, spec, message["id"], target)
    for name, value in inputs.get("globals", {}).items():
        ns[name] = value
    args, kwargs = inputs.get("args", []), inputs.get("kwargs", {})
    for param, name in (spec.get("bind_globals") or {}).items():  # weights as parameters: the very globals just set
        kwargs[param] = ns.get(name)
    before = snapshot(args)
    obj = None
    start_timer(spec.get("timeout", 30))
    try:
        if spec.get("seed") is not None:
            np.random.seed(spec["seed"])
        if spec.get("class"):
            obj = target(*inputs.get("init", []))
            for attr, value in inputs.get("attrs", {}).items():
                setattr(obj, attr, value)
            method = getattr(obj, spec["method"], None)
            if method is None:
                raise AttributeError(f"{spec['class']} has no method {spec['method']}")
            for _ in range(spec.get("repeat", 1)):
                value = method(*args, **kwargs)
        else:
            for _ in range(spec.get("repeat", 1)):
                value = target(*args, **kwargs)
        stop_timer()
        observed = {"return": value}
        if spec.get("read_globals"):
            observed["globals"] = {g: ns.get(g) for g in spec["read_globals"]}
        if spec.get("read_attrs") and obj is not None:
            observed["attrs"] = {a: getattr(obj, a, None) for a in spec["read_attrs"]}
        reply["tree"] = encode(observed, out)
        reply["mutated"] = [i for i, (a, b) in enumerate(zip(before, args)) if not same(a, b)]
        reply["status"] = "ok"
    except GradingTimeout:
        reply.update(status="timeout", error=f"did not return within {spec.get('timeout', 30)} s")
    except BaseException as exc:
        stop_timer()
        reply.update(status="error", error=error_text(exc), traceback=traceback_tail(exc, 8))
    finally:
        stop_timer()
        restore_helpers(undo)
    reply["seconds"] = time.perf_counter() - started
    reply["stdout"] = stdout.take()[:2000]
    stderr.take()
    return reply, out

# ---------------------------------------------------------------- the machine's differences (issue 11)
#
# Each function below is contained: it is called from main() or do_call() and touches only the
# student's side. None of them makes the grader read a file or follow a name: they only make the
# student's own code find what this sandbox folder already holds.

KEPT: dict = {}  # name -> [(cell index, function or class object)], as the cells ran

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

    served: dict = {}
    for name in sorted(os.listdir(workdir)):
        path = os.path.join(workdir, name)
        if os.path.isfile(path) and not name.endswith((".py", ".pyc")):
            served.setdefault(name.lower(), path)
            key = data_key(name)
            if key:
                served.setdefault(key, path)
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


def record_definitions(shell, index) -> None:
    """Keep each definition of every function and class as the cells run, with the cell that made it.

    When a later handout cell redefines a function the student wrote (002's template softmax),
    the grader asks for the student's own definition by its cell (call spec "definition").
    """
    import types as _types

    for name, value in list(shell.user_ns.items()):
        if name.startswith("_") or name == "open" or not isinstance(value, (_types.FunctionType, type)):
            continue
        if getattr(value, "__module__", None) != "__main__":
            continue
        kept = KEPT.setdefault(name, [])
        if not kept or kept[-1][1] is not value:
            kept.append((index, value))
        del kept[:-8]


def kept_definition(spec):
    """The function or class the call spec names by its cell ("definition"), or None for the current one."""
    cell = spec.get("definition")
    name = spec.get("class") or spec.get("function")
    if cell is None or not isinstance(name, str):
        return None
    found = [value for index, value in KEPT.get(name, []) if index == cell]
    return found[-1] if found else None


def plain_state(obj) -> dict:
    """An object's plain attributes (arrays, numbers, strings), as a reference stand-in needs them."""
    import numpy as np

    state = {}
    for key, value in list(getattr(obj, "__dict__", {}).items()):
        if isinstance(key, str) and isinstance(value, (np.ndarray, int, float, str, bool, np.number)):
            state[key] = value
    return state


def install_helpers(ns, spec, call_id, target):
    """Stand-ins asking the grader for the reference's answer, for exactly the retry's helpers.

    A plain name is replaced in the namespace; "Class.method" on the class (the object's own
    state goes along and the reference's new state comes back); a helper that reads or sets
    globals (spec "helper_globals") sends them and takes the reference's new values back.
    Returns what restore_helpers() needs to undo it.
    """
    undo = []
    stateful = spec.get("helper_globals") or {}
    for name in spec.get("helpers", []):
        if "." in name:
            cls_name, method = name.split(".", 1)
            cls = target if (spec.get("class") == cls_name and isinstance(target, type)) else ns.get(cls_name)
            if not isinstance(cls, type):
                continue
            undo.append((cls, method, cls.__dict__.get(method, KeyError)))
            setattr(cls, method, method_proxy(name, call_id))
        else:
            undo.append((ns, name, ns.get(name, KeyError)))
            names = stateful.get(name)
            ns[name] = globals_proxy(name, call_id, ns, names) if names else helper_proxy(name, call_id)
    return undo


def restore_helpers(undo) -> None:
    for owner, name, old in reversed(undo):
        if isinstance(owner, dict):
            if old is KeyError:
                owner.pop(name, None)
            else:
                owner[name] = old
        elif old is KeyError:
            try:
                delattr(owner, name)
            except AttributeError:
                pass
        else:
            setattr(owner, name, old)


def method_proxy(name: str, call_id: int):
    ask = helper_proxy(name, call_id)

    def proxy(self, *args, **kwargs):
        answer = ask({"self": plain_state(self)}, *args, **kwargs)
        for key, value in (answer.get("attrs") or {}).items():
            setattr(self, key, value)
        return answer.get("return")

    proxy.__name__ = name.rsplit(".", 1)[-1]
    return proxy


def globals_proxy(name: str, call_id: int, ns, names):
    ask = helper_proxy(name, call_id)

    def proxy(*args, **kwargs):
        answer = ask({"globals": {g: ns.get(g) for g in names}}, *args, **kwargs)
        for key, value in (answer.get("globals") or {}).items():
            if key in names:
                ns[key] = value
        return answer.get("return")

    proxy.__name__ = name
    return proxy



def warm_state():
    """What a warm process (zygote.py) prepares once, before it forks: the shell and its capped streams."""
    import numpy  # noqa: F401

    limit = int(os.environ.get("GRADER_OUTPUT_LIMIT", "20000"))
    stdout, stderr = CappedStream("<stdout>", limit), CappedStream("<stderr>", limit)
    return make_shell(os.getcwd()), stdout, stderr


def main(warm=None) -> None:
    """Serve the grader. `warm`: the state a warm process made (privileges already dropped by it)."""
    global PROTOCOL_IN, PROTOCOL_OUT
    if warm is None:
        drop_privileges()
    PROTOCOL_IN = os.fdopen(os.dup(0), "rb")
    PROTOCOL_OUT = os.fdopen(os.dup(1), "wb")
    workdir = os.getcwd()
    try:  # before stderr goes away: a broken interpreter says why, to the grader
        import numpy  # noqa: F401
        import IPython  # noqa: F401
    except BaseException as exc:
        traceback.print_exc()
        send({"op": "fatal", "error": error_text(exc)})
        os._exit(1)
    redirect_process_output()
    signal.signal(signal.SIGALRM, on_timer)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-size writes fail instead of killing us
    sys.path[:] = [p for p in sys.path if p not in ("", os.path.dirname(os.path.abspath(__file__)))]
    sys.path.insert(0, workdir)
    install_convenience_shims()
    if warm is not None:
        shell, stdout, stderr = warm
        sys.stdout, sys.stderr = stdout, stderr
    else:
        limit = int(os.environ.get("GRADER_OUTPUT_LIMIT", "20000"))
        stdout, stderr = CappedStream("<stdout>", limit), CappedStream("<stderr>", limit)
        sys.stdout, sys.stderr = stdout, stderr
        try:
            shell = make_shell(workdir)
        except BaseException as exc:
            send({"op": "fatal", "error": error_text(exc), "traceback": traceback_tail(exc)})
            os._exit(1)
    serve_data_everywhere(workdir, shell)
    send({"op": "ready", "pid": os.getpid(), "uid": os.getuid()})
    while True:
        message, arrays = receive()
        if message is None or message["op"] == "quit":
            break
        out = None
        if message["op"] == "run":
            reply = run_cell(shell, message, stdout, stderr)
            record_definitions(shell, message.get("index"))
        elif message["op"] == "call":
            reply, out = do_call(shell, message, arrays, stdout, stderr)
        else:
            reply = {"op": "error", "error": f"unknown op {message['op']!r}"}
        send(reply, out)
    os._exit(0)


if __name__ == "__main__":
    main()
