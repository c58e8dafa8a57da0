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
