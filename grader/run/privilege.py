"""The one privilege drop: empty the capability bounding set, become `uid`, no_new_privs; every call checked.

Standard library only: it is staged beside worker.py and zygote.py, which run outside the
package and import it as the sibling module `privilege`; trusted code imports it as
grader.run.privilege. A step that fails raises PrivilegeError, which every caller turns
into a harness fault (never a weaker sandbox, never a grade).
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38
LAST_CAPABILITY = 63  # the kernel answers EINVAL past its own last capability


class PrivilegeError(OSError):
    """A step of the privilege drop failed: the process must not go on to run a notebook."""


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _checked(result: int, what: str, allowed: tuple[int, ...] = ()) -> None:
    """Raise PrivilegeError unless `result` is 0 or its errno is one of `allowed`."""
    if result != 0:
        err = ctypes.get_errno()
        if err not in allowed:
            raise PrivilegeError(err, f"{what}: {os.strerror(err)}")


def drop_capabilities(libc: ctypes.CDLL | None = None) -> None:
    """Empty the bounding set, like bubblewrap's --cap-drop ALL: none can come back through an exec."""
    libc = libc or _libc()
    for cap in range(LAST_CAPABILITY + 1):
        _checked(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap}", allowed=(errno.EINVAL,))


def become(uid: int) -> None:
    """setgroups, setresgid, setresuid to `uid`; then prove root cannot come back."""
    try:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    except OSError as exc:
        raise PrivilegeError(exc.errno or errno.EPERM, f"become uid {uid}: {exc}") from exc
    if (os.getresuid(), os.getresgid()) != ((uid, uid, uid), (uid, uid, uid)):
        raise PrivilegeError(errno.EPERM, f"still not uid {uid} after setresuid")
    if uid != 0:
        try:
            os.setuid(0)
        except PermissionError:
            return
        raise PrivilegeError(errno.EPERM, "could not drop root privileges")


def no_new_privs(libc: ctypes.CDLL | None = None) -> None:
    """No setuid file or file capability can raise this process or its children again."""
    libc = libc or _libc()
    _checked(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def drop_to(uid: int | None, always_drop_capabilities: bool = False) -> None:
    """The whole drop, in the order that works: capabilities (needs CAP_SETPCAP), uid, no_new_privs."""
    libc = _libc()
    if uid is not None or always_drop_capabilities:
        drop_capabilities(libc)
    if uid is not None:
        become(uid)
    no_new_privs(libc)


PR_SET_DUMPABLE = 4


def undumpable(libc: ctypes.CDLL | None = None) -> None:
    """This (grading) process's /proc files become root's: a notebook running under the same uid cannot read
    its environment, memory or open files, nor ptrace it. Forks keep it; an exec'd notebook does not."""
    libc = libc or _libc()
    _checked(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "not dumpable")


# ---------------------------------------------------------------- signals: this process only

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
_LD_ABS, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06
_ALLOW, _EPERM = 0x7FFF0000, 0x00050000 | errno.EPERM
# machine -> (audit arch, syscalls whose first argument names the process to signal, syscalls never allowed)
_SIGNAL_SYSCALLS = {
    "x86_64": (0xC000003E, {"kill": 62, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297},
               {"tkill": 200, "pidfd_send_signal": 424}),
    "aarch64": (0xC00000B7, {"kill": 129, "tgkill": 131, "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240},
                {"tkill": 130, "pidfd_send_signal": 424}),
}


def _signal_filter(pid: int, arch: int, targeted: dict, forbidden: dict) -> bytes:
    """A seccomp program: a signal may go to `pid` only; kill(-1), kill(0), another pid and x32 calls get EPERM."""
    checks = list(targeted.values())
    never = list(forbidden.values())
    # 0 arch, 1 same arch?, 2 nr, 3 x32?, one jeq per syscall, allow, load arg0, is it pid?, allow, deny
    allow_at = 4 + len(checks) + len(never)  # jumps are counted from the next instruction
    check_at, deny_at = allow_at + 1, allow_at + 4
    program = [(_LD_ABS, 0, 0, 4), (_JEQ, 0, allow_at - 2, arch), (_LD_ABS, 0, 0, 0),  # another ABI: not ours to judge
               (_JGE, deny_at - 4, 0, 0x40000000)]  # x32 numbers of the same calls
    for number in checks:
        here = len(program)
        program.append((_JEQ, check_at - here - 1, 0, number))
    for number in never:
        here = len(program)
        program.append((_JEQ, deny_at - here - 1, 0, number))
    program += [(_RET, 0, 0, _ALLOW), (_LD_ABS, 0, 0, 16), (_JEQ, 0, 1, pid & 0xFFFFFFFF), (_RET, 0, 0, _ALLOW), (_RET, 0, 0, _EPERM)]
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)


def signal_only_self(libc: ctypes.CDLL | None = None) -> bool:
    """Let this process (and what it execs) send signals to itself only: a notebook that shares a uid with
    the grader or with other notebooks cannot kill(-1) the batch. Needs no_new_privs first. False on a
    machine whose syscall numbers are not known here (nothing installed); a failed install raises."""
    known = _SIGNAL_SYSCALLS.get(platform.machine())
    if known is None:
        return False
    code = _signal_filter(os.getpid(), *known)
    buffer = ctypes.create_string_buffer(code, len(code))

    class Program(ctypes.Structure):  # struct sock_fprog
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    program = Program(len(code) // 8, ctypes.addressof(buffer))
    libc = libc or _libc()
    _checked(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0), "seccomp signal filter")
    return True
