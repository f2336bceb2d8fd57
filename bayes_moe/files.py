"""Replacing a file atomically the way a user expects of ``> FILE``: through a symlink to the file it names,
keeping the file's permissions, and never over a directory or a device (docs/cli.md, Guarantees)."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from bayes_moe.errors import InputError, MachineFault

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))
_DESCRIPTOR_FOLDERS = ("/proc/", "/dev/fd/")


def writable_target(path) -> Path:
    """The regular file that writing ``path`` should replace: symlinks followed; ``InputError`` naming the
    path if that is a directory, a device, a pipe or a socket, or its folder is missing."""
    path = Path(path)
    if _names_a_descriptor(path):
        raise InputError(f"cannot write {path}: it names an open file of a process, not a file to replace "
                         f"(for standard output, give `-`)")
    target = Path(os.path.realpath(path))
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        if not target.parent.is_dir():
            raise InputError(f"cannot write {path}: no folder {target.parent}") from None
        return target
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise InputError(f"cannot write {path}: it is {kind}, not a regular file")
    return target


def _names_a_descriptor(path: Path) -> bool:
    """Whether ``path`` or a symlink it leads through is a process's file descriptor (``/dev/stdout``,
    ``/dev/fd/1``, ``/proc/self/fd/1``): renaming over what such a link resolves to would replace the file
    another process writes to, not write to it."""
    hop = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on symlink chains
        if hop.startswith(_DESCRIPTOR_FOLDERS) or not os.path.islink(hop):
            return hop.startswith(_DESCRIPTOR_FOLDERS)
        hop = os.path.abspath(os.path.join(os.path.dirname(hop), os.readlink(hop)))
    return False


@contextlib.contextmanager
def replacing(path, newline: str = "", binary: bool = False):
    """A text handle (``binary``: a bytes handle) whose content replaces ``path`` (``writable_target``) when the block ends without error:
    written to a temporary file beside it, flushed to disk, then renamed over it, so a reader sees the old
    file or the new one, never half of one. A new file gets the permissions of ``open`` (0666 less the
    umask); an existing one keeps its own. A full disk is a ``MachineFault``, a folder we may not write an
    ``InputError``; either leaves the old file as it was."""
    target = writable_target(path)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise _write_fault(path, error) from None
    try:
        with (open(descriptor, "wb") if binary else open(descriptor, "w", newline=newline, encoding="utf-8")) as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as error:
        raise _write_fault(path, error) from None
    finally:
        temporary.unlink(missing_ok=True)


def _write_fault(path, error: OSError) -> Exception:
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG):
        return MachineFault(f"cannot write {path}: {error.strerror} (a fault of the machine: free space, "
                            f"then run the command again; the old file is unchanged)")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return InputError(f"cannot write {path}: {error.strerror} (the folder is not writable by this user)")
    return error
