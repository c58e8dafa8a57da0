"""Calls into the student's code: a probe call, the stand-ins for a retry's helpers, the kept definitions.

Staged beside worker.py (a sibling module; standard library and numpy only). Inputs come
from the grader as wire.py values; only plain values go back.
"""
from __future__ import annotations

import time

# Module-level names shadow the builtins: a notebook that patches builtins.isinstance
# or builtins.len cannot break the grader's side of this process.
from builtins import (  # noqa: A004
    BaseException, KeyError, bool, dict, enumerate, float, getattr, int, isinstance, len, list, range, setattr, str,
    tuple, type, zip,
)

from wire import decode as _decode_value
from wire import encode
from worker_channel import receive, send
from worker_shell import CappedStream, GradingTimeout, error_text, start_timer, stop_timer, traceback_tail

KEPT: dict = {}  # name -> [(cell index, function or class object)], as the cells ran


def decode(tree, arrays):
    """A value the grader sent (its own: no item budget, unlike what the grader reads from here)."""
    return _decode_value(tree, arrays, max_items=None)


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
    owner, _, attribute = str(spec["function"]).partition(".")
    fn = ns.get(spec["function"]) if not attribute else getattr(ns.get(owner), attribute, None)  # Class.static_method
    if fn is None:
        return None, f"{spec['function']} is not defined"
    if not callable(fn):
        return None, f"{spec['function']} is a {type(fn).__name__}, not a function"
    return fn, None


def bind_inputs(ns, spec, inputs):
    """Set the call's globals in the namespace; the positional and keyword arguments to call with."""
    for name, value in inputs.get("globals", {}).items():
        ns[name] = value
    args, kwargs = inputs.get("args", []), inputs.get("kwargs", {})
    for param, name in (spec.get("bind_globals") or {}).items():  # weights as parameters: the very globals just set
        kwargs[param] = ns.get(name)
    return args, kwargs


def observe(spec, ns, obj, value) -> dict:
    """What one call gives back: its return, and the globals and attributes the call spec reads."""
    observed = {"return": value}
    if spec.get("read_globals"):
        observed["globals"] = {g: ns.get(g) for g in spec["read_globals"]}
    if spec.get("read_attrs") and obj is not None:
        observed["attrs"] = {a: getattr(obj, a, None) for a in spec["read_attrs"]}
    return observed


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
    args, kwargs = bind_inputs(ns, spec, inputs)
    before = snapshot(args)
    obj = None
    start_timer(spec.get("timeout", 30))
    try:
        if spec.get("seed") is not None:
            np.random.seed(spec["seed"])
        if spec.get("class"):
            obj = target(*inputs.get("init", []))
            for attr, value in inputs.get("attrs", {}).items():
                own = getattr(obj, attr, None)
                if spec.get("attrs_like_own") and isinstance(own, np.ndarray) and isinstance(value, np.ndarray) \
                        and own.size == value.size and own.shape != value.shape:
                    value = value.reshape(own.shape)  # a bias the class keeps as a (1, n) row
                setattr(obj, attr, value)
            for method, given in zip(spec.get("before", []), inputs.get("before", [])):  # forward, then backward
                getattr(obj, method)(*given.get("args", []), **given.get("kwargs", {}))
            target = getattr(obj, spec["method"], None)
            if target is None:
                raise AttributeError(f"{spec['class']} has no method {spec['method']}")
        draws = []
        for _ in range(spec.get("repeat", 1)):
            observed = observe(spec, ns, obj, target(*args, **kwargs))
            if spec.get("each"):
                draws.append(snapshot(observed))  # a copy: the next call may refill the same arrays
        stop_timer()
        if draws:
            observed["draws"] = draws
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


