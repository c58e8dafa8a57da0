"""The warm process: imports Python's, numpy's, IPython's and pyplot's code once, then forks a sandbox per notebook.

Run by forkserver.py as a script, next to worker.py and its siblings; like the worker it
imports nothing from the project (no reference, no spec, no expected value is
ever in its memory). It never runs a line of student code: it waits for a
request on its socket, forks, and goes back to waiting. Each request carries
the pipes of one notebook (SCM_RIGHTS) and the plan of its sandbox, which is
the very argument list `sandbox.bwrap_launch` gives bubblewrap; the fork
carries it out the way bubblewrap would:

    zygote (root, host)            never touched by a notebook; every child is a fresh fork of it
      └ monitor (root, host pid)   setsid; new mount, PID, network, IPC, UTS namespaces; reports the exit code
          └ init (pid 1)           private root (tmpfs + read-only binds + sized /tmp + /dev + /proc), pivot_root,
              │                    limits, drops to the notebook's uid, no_new_privs; then only reaps
              └ worker (pid 2)     the notebook's process: worker.main() with the warm shell

Anything the setup cannot do ends the child before "ready" with the reason on
its stderr (exit 121): the grader sees a harness fault, never a weaker sandbox.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import random
import resource
import signal
import socket
import stat
import sys
import traceback

import privilege  # staged beside this script (forkserver.py)

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = (
    0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x20000000, 0x40000000)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}.get(platform.machine())
NEWROOT = "/tmp"  # in the child's own mount namespace, a fresh tmpfs here becomes "/"
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
SETUP_FAILED = 121

WORKER = None  # the worker module, imported once
WARM = None  # (shell, stdout, stderr) made once; each child gets its own copy by fork


class SetupError(Exception):
    pass


def check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)}")


def mount(source, target, fstype, flags, data=None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


# ---------------------------------------------------------------- the private root, from bubblewrap's arguments


def build_root(args: list[str], scratch_bytes: int) -> str:
    """Carry out bubblewrap's filesystem arguments under NEWROOT and pivot into it; returns --chdir."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    sources = {}  # every bind source, opened before /tmp is covered (a venv or the stage may live there)
    i = 0
    while i < len(args):
        if args[i] == "--ro-bind":
            sources[args[i + 1]] = os.open(args[i + 1], os.O_PATH | os.O_CLOEXEC)
            i += 3
        else:
            i += 1
    devices = {name: os.open(f"/dev/{name}", os.O_PATH | os.O_CLOEXEC) for name in DEVICES if os.path.exists(f"/dev/{name}")}
    mount("tmpfs", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    chdir = carry_out(args, sources, devices, scratch_bytes)
    for fd in [*sources.values(), *devices.values()]:
        os.close(fd)
    # The new root: the old one is put under it and detached, so nothing of the host stays reachable.
    os.chdir(NEWROOT)
    if SYS_PIVOT_ROOT is None:
        raise SetupError(f"pivot_root: unknown on {platform.machine()}")
    check(_libc.syscall(SYS_PIVOT_ROOT, b".", b"."), "pivot_root")
    check(_libc.umount2(b".", MNT_DETACH), "umount the host's root")
    os.chdir("/")
    mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return chdir


# Done by the fork itself (namespaces, setsid, death signal); the capabilities go with the uid drop.
DONE_BY_THE_FORK = {"--die-with-parent": 0, "--new-session": 0, "--unshare-pid": 0, "--unshare-net": 0,
                    "--unshare-ipc": 0, "--unshare-uts": 0, "--unshare-cgroup-try": 0, "--unshare-user": 0,
                    "--cap-drop": 1, "--cap-add": 1}


def carry_out(args: list[str], sources: dict, devices: dict, scratch_bytes: int) -> str:
    """Each filesystem argument in order, under NEWROOT; returns --chdir. An unknown one fails closed."""
    chdir = "/"
    perms = size = None
    i = 0
    while i < len(args):
        op = args[i]
        if op in DONE_BY_THE_FORK:
            i += 1 + DONE_BY_THE_FORK[op]
            continue
        if op == "--perms":
            perms, i = int(args[i + 1], 8), i + 2
            continue
        if op == "--size":
            size, i = int(args[i + 1]), i + 2
            continue
        if op == "--ro-bind":
            bind_read_only(sources[args[i + 1]], NEWROOT + args[i + 2])
            i += 3
        elif op == "--symlink":
            target = NEWROOT + args[i + 2]
            makedirs(os.path.dirname(target))
            os.symlink(args[i + 1], target)
            i += 3
        elif op == "--tmpfs":
            target = NEWROOT + args[i + 1]
            makedirs(target)
            options = f"mode={perms if perms is not None else 0o755:o}" + (f",size={size}" if size is not None else ",size=1m")
            mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options)
            i += 2
        elif op == "--dir":
            target = NEWROOT + args[i + 1]
            makedirs(target)
            os.chmod(target, perms if perms is not None else 0o755)
            i += 2
        elif op == "--dev":
            make_dev(NEWROOT + args[i + 1], devices, scratch_bytes)
            i += 2
        elif op == "--proc":
            target = NEWROOT + args[i + 1]
            makedirs(target)
            mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this PID namespace's own
            i += 2
        elif op == "--chdir":
            chdir, i = args[i + 1], i + 2
        else:
            raise SetupError(f"unknown sandbox argument {op!r}")  # fail closed: never a partial sandbox
        perms = size = None
    return chdir


def bind_read_only(fd: int, target: str) -> None:
    """--ro-bind: the source opened before, bound read-only, nosuid, nodev at target."""
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        makedirs(target)
    else:
        makedirs(os.path.dirname(target))
        touch(target)
    mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
    mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def make_dev(target: str, devices: dict, scratch_bytes: int) -> None:
    """--dev: a small tmpfs with the harmless devices bound in, the fd links, shm and pts."""
    makedirs(target)
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NOEXEC, f"mode=0755,size={scratch_bytes}")
    for name, fd in devices.items():
        touch(f"{target}/{name}")
        mount(f"/proc/self/fd/{fd}", f"{target}/{name}", None, MS_BIND)
    for name, fd_target in (("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                            ("stderr", "/proc/self/fd/2"), ("fd", "/proc/self/fd")):
        os.symlink(fd_target, f"{target}/{name}")
    for name in ("shm", "pts"):
        os.mkdir(f"{target}/{name}", 0o1777 if name == "shm" else 0o755)


def makedirs(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


def touch(path: str) -> None:
    if not os.path.exists(path):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))


def apply_limits(limits: dict) -> None:
    for name, value in limits.items():
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (ValueError, OSError):
            if name != "RLIMIT_NPROC":
                raise


def drop_to(uid: int | None) -> None:
    """The shared, fully checked drop (privilege.py); a failed step is a setup failure."""
    try:
        privilege.drop_to(uid, always_drop_capabilities=True)
    except privilege.PrivilegeError as exc:
        raise SetupError(str(exc)) from exc


def exit_code(status: int) -> int:
    """bubblewrap's convention: the child's exit code, or 128 + the signal that killed it."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1


# ---------------------------------------------------------------- the three generations of a notebook


def monitor(plan: dict, proto_in: int, proto_out: int, err: int, status: int) -> None:
    """Root, in the host's PID namespace: new namespaces, then wait for init and report its exit code."""
    code = SETUP_FAILED
    try:
        os.dup2(err, 2)
        os.setsid()
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
        check(_libc.unshare(flags), "unshare")
        if _libc.unshare(CLONE_NEWCGROUP) != 0:
            pass  # like bubblewrap's --unshare-cgroup-try
        pid = os.fork()
        if pid == 0:
            os.close(status)
            init(plan, proto_in, proto_out)
        for fd in (proto_in, proto_out, err):
            os.close(fd)
        _, wait_status = os.waitpid(pid, 0)
        code = exit_code(wait_status)
    except BaseException as exc:  # noqa: BLE001 - say why, exit before any student code
        os.write(2, f"sandbox setup failed: {type(exc).__name__}: {exc}\n".encode())
    try:
        os.write(status, str(code).encode())
    finally:
        os._exit(0)


PR_SET_MM, PR_SET_MM_MAP = 35, 14
_ENVIRON_BLOCKS: list = []  # the notebook's environment block must outlive this function


class _MemoryMap(ctypes.Structure):  # struct prctl_mm_map (linux/prctl.h)
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "start_code", "end_code", "start_data", "end_data", "start_brk", "brk", "start_stack", "arg_start", "arg_end",
        "env_start", "env_end")] + [("auxv", ctypes.c_void_p), ("auxv_size", ctypes.c_uint32), ("exe_fd", ctypes.c_uint32)]


def replace_environ(env: dict) -> None:
    """/proc/self/environ shows the notebook's own environment, not the warm process's start-up one (host
    folders, the grader's paths): a new block in memory, named by PR_SET_MM_MAP (forks inherit it)."""
    block = b"".join(f"{k}={v}".encode() + b"\0" for k, v in env.items()) or b"\0"
    buffer = ctypes.create_string_buffer(block, len(block))
    _ENVIRON_BLOCKS.append(buffer)
    fields = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
    at = lambda number: int(fields[number - 3])  # noqa: E731 - proc(5)'s 1-based field numbers
    _libc.sbrk.restype = ctypes.c_void_p
    start = ctypes.addressof(buffer)
    memory = _MemoryMap(at(26), at(27), at(45), at(46), at(47), _libc.sbrk(0), at(28), at(48), at(49),
                        start, start + len(block), None, 0, 0xFFFFFFFF)  # exe_fd -1: the executable stays
    check(_libc.prctl(PR_SET_MM, ctypes.c_ulong(PR_SET_MM_MAP), ctypes.byref(memory),
                      ctypes.c_ulong(ctypes.sizeof(memory)), ctypes.c_ulong(0)), "replace the environment block")


def init(plan: dict, proto_in: int, proto_out: int) -> None:
    """Pid 1 of the notebook's PID namespace: build the sandbox, drop privileges, start the worker, reap."""
    try:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        chdir = build_root(plan["bwrap"], plan["scratch_bytes"])
        apply_limits(plan["rlimits"])
        replace_environ(plan["env"])
        drop_to(plan["uid"])
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # setuid cleared it
        worker = os.fork()
        if worker == 0:
            run_worker(plan, chdir, proto_in, proto_out)
        os.close(proto_in)
        os.close(proto_out)
    except BaseException as exc:  # noqa: BLE001
        os.write(2, f"sandbox setup failed: {type(exc).__name__}: {exc}\n".encode())
        os._exit(SETUP_FAILED)
    while True:  # reap orphans; when the worker ends, so does the namespace (and all it left running)
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
        if pid == worker:
            os._exit(exit_code(wait_status))


def run_worker(plan: dict, chdir: str, proto_in: int, proto_out: int) -> None:
    """Pid 2: the notebook's process. Nothing here came from a notebook before; nothing goes back."""
    try:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        os.dup2(proto_in, 0)
        os.dup2(proto_out, 1)
        os.closerange(3, 1 << 16)
        for sig in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(plan["env"])
        os.chdir(chdir)
        # A fresh process would not share its random state with every other notebook.
        random.seed()
        import numpy

        numpy.random.seed()
        shell, stdout, stderr = WARM
        stdout.limit = stderr.limit = int(plan["env"].get("GRADER_OUTPUT_LIMIT", "20000"))
        shell.user_ns["_dh"] = [chdir]
        sys.path[:] = [p for p in sys.path if p not in ("", os.path.dirname(os.path.abspath(__file__)))]
    except BaseException as exc:  # noqa: BLE001
        os.write(2, f"sandbox setup failed: {type(exc).__name__}: {exc}\n".encode())
        os._exit(SETUP_FAILED)
    try:
        WORKER.main(warm=WARM)
    except BaseException:  # noqa: BLE001 - as an uncaught exception ends a script: the notebook broke its process
        os._exit(1)
    os._exit(0)


# ---------------------------------------------------------------- the server


def preload() -> None:
    """Import and build everything a notebook's process needs before its first cell (no student code)."""
    global WORKER, WARM
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("grader_worker", os.path.join(here, "worker.py"))
    WORKER = importlib.util.module_from_spec(spec)
    sys.modules["grader_worker"] = WORKER
    spec.loader.exec_module(WORKER)
    WARM = WORKER.warm_state()
    try:  # every handout plots: pyplot's import and font list cost 0.6-0.8 s per notebook otherwise
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401
    except Exception:  # noqa: BLE001 - a notebook that imports it pays for it itself
        pass


def serve(sock: socket.socket) -> None:
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 20, 4)
        except InterruptedError:
            continue
        if not data:
            return  # the grader is gone
        try:
            plan = json.loads(data)
            if len(fds) != 4:
                raise ValueError(f"expected 4 file descriptors, got {len(fds)}")
            pid = os.fork()
            if pid == 0:
                sock.close()
                monitor(plan, *fds)
            reply = {"pid": pid}
        except Exception as exc:  # noqa: BLE001
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps(reply).encode())


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    os.chdir("/")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped by the kernel
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    try:
        preload()
    except BaseException as exc:  # noqa: BLE001
        traceback.print_exc()
        sock.send(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return
    sock.send(json.dumps({"ready": os.getpid()}).encode())
    serve(sock)


if __name__ == "__main__":
    main()
