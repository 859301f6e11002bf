"""The user's paths, read and written safely: what a path really is (a regular file, a folder, or a pipe or
device that would hang or never end), folders checked for writing before a job, files written atomically
(a temporary file in the same folder, flushed to disk, then renamed), and a sentence for what the operating
system said when it refused."""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_PREFIX = ".pocket-mocap-"  # temporary files in an output folder start with this (hidden on Unix)
NAME_MAX = 255  # bytes in one file name on every common file system


def shown(path: Path | str, limit: int = 120) -> str:
    """``path`` for a sentence: whole when short, else its end (where the name is) after an ellipsis."""
    text = str(path)
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def special_kind(mode: int) -> str:
    """What a non-regular, non-folder file is, in words ("" for a regular file or a folder)."""
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return ""
    return "not an ordinary file"


def path_problem(path: Path, noun: str, want: str = "file") -> str:
    """Why ``path`` cannot be read as a ``want`` ("file" or "folder"), or "" when it can. Looks with ``stat``
    only: a named pipe or a device is never opened (opening one can block for ever)."""
    shown_path = f'The {noun} "{shown(path)}"'
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return f"{shown_path} is a link to something that does not exist. Pick the real {want}."
        return f"{shown_path} does not exist. Check the path, or pick the {want} again."
    except NotADirectoryError:
        return f"{shown_path} does not exist: a part of its path is a file, not a folder."
    except OSError as exc:
        return f"{shown_path} cannot be used: {os_error_reason(exc)}."
    kind = special_kind(info.st_mode)
    if kind:
        return f"{shown_path} is {kind}, not a {want}. Pick an ordinary {want}."
    if want == "file" and stat.S_ISDIR(info.st_mode):
        return f"{shown_path} is a folder, not a file. Pick a file inside it."
    if want == "folder" and not stat.S_ISDIR(info.st_mode):
        return f"{shown_path} is a file, not a folder. Pick a folder."
    if not os.access(path, os.R_OK):
        return f"{shown_path} cannot be read: permission denied. Check its permissions."
    return ""


def os_error_reason(exc: OSError) -> str:
    """What an ``OSError`` means, in words, without the Python exception's text."""
    reasons = {
        errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
        errno.EACCES: "permission denied", errno.EPERM: "permission denied",
        errno.EROFS: "the disk is read-only", errno.ENAMETOOLONG: "the name is too long for the file system",
        errno.ENOTDIR: "a part of the path is a file, not a folder", errno.EISDIR: "it is a folder",
        errno.ENOENT: "it does not exist", errno.ELOOP: "its links go round in a circle",
        errno.EIO: "the disk reported a read or write error", errno.EFBIG: "the file is too large",
        errno.EMFILE: "too many files are open", errno.ENOMEM: "the computer is out of memory",
    }
    return reasons.get(exc.errno, (exc.strerror or "an error of the operating system").lower())


def os_error_sentence(exc: OSError, doing: str) -> str:
    """A sentence for an ``OSError`` met while ``doing`` (e.g. 'Writing "out.npz"'), naming the file the
    system named, saying what to do."""
    reason = os_error_reason(exc)
    space = "Free some space, or choose another disk, and run again."
    permission = "Choose a folder you can write to, or check the permissions."
    advice = {errno.ENOSPC: space, errno.EDQUOT: space, errno.EROFS: "Choose a folder on another disk.",
              errno.EACCES: permission, errno.EPERM: permission, errno.ENAMETOOLONG: "Choose a shorter name."
              }.get(exc.errno, "Check the path and the disk, and run again.")
    where = f' at "{shown(exc.filename)}"' if isinstance(exc.filename, str) and exc.filename not in doing else ""
    return f"{doing} failed{where}: {reason}. {advice}"


def output_problem(target: Path, noun: str = "output") -> str:
    """Why ``target`` cannot be written, or "": its name fits, it is not a folder or a device, its folder
    exists (or can be made) and takes a new file. Makes the folder when missing; leaves no file behind."""
    shown_path = f'The {noun} "{shown(target)}"'
    if len(os.fsencode(target.name)) > NAME_MAX:
        return f"{shown_path} has a name of {len(os.fsencode(target.name))} bytes; file names can have at most " \
               f"{NAME_MAX}. Choose a shorter name."
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    except NotADirectoryError:
        return f"{shown_path} cannot be written: a part of its path is a file, not a folder. Choose another place."
    except OSError as exc:
        return f"{shown_path} cannot be written: {os_error_reason(exc)}. Choose another place."
    if info is not None and not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else special_kind(info.st_mode)
        return f"{shown_path} is {kind}, so no result can be written there. Give a file name instead."
    return folder_problem(target.parent, noun)


def folder_problem(folder: Path, noun: str = "output") -> str:
    """Why no new file can be written in ``folder`` (made when missing), or ""."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return f'The {noun} folder "{shown(folder)}" is a file, not a folder. Choose another place.'
    except NotADirectoryError:
        return f'The {noun} folder "{shown(folder)}" cannot be made: a part of its path is a file, not a folder.'
    except OSError as exc:
        return f'The {noun} folder "{shown(folder)}" cannot be made: {os_error_reason(exc)}. Choose another place.'
    try:
        with temporary_path(folder / "probe") as probe:
            probe.write_bytes(b"")
    except OSError as exc:
        return f'Nothing can be written in the {noun} folder "{shown(folder)}": {os_error_reason(exc)}. ' \
               "Choose a folder you can write to."
    return ""


def free_space_problem(folder: Path, needed: int, noun: str = "output") -> str:
    """Why ``folder``'s disk cannot take ``needed`` bytes, or ""."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return ""  # unknown: the write itself will say
    if free >= needed:
        return ""
    return (f'The disk holding the {noun} folder "{shown(folder)}" has {free / 1e6:.1f} MB free; this needs about '
            f"{needed / 1e6:.0f} MB. Free some space or choose another disk.")


@contextmanager
def temporary_path(target: Path) -> Iterator[Path]:
    """A fresh, short, hidden name in ``target``'s folder, ending like ``target``; removed on the way out if
    it is still there."""
    temp = target.with_name(f"{TEMP_PREFIX}{secrets.token_hex(4)}.tmp{target.suffix}")
    try:
        yield temp
    finally:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass


def replace_atomically(write: Callable[[Path], object], target: Path, durable: bool = True) -> Path:
    """Call ``write(temp)`` for a temporary file beside ``target``, flush it to disk and rename it to
    ``target``: readers see the old file or the whole new one, never a part. A failure leaves no file.
    ``durable=False`` skips the flush, for scratch files that a killed job rewrites anyway."""
    with temporary_path(target) as temp:
        write(temp)
        if durable:
            sync_file(temp)
        os.replace(temp, target)
    if durable:
        _sync_folder(target.parent)
    return target


def write_json_atomically(path: Path, data: dict, durable: bool = True) -> Path:
    text = json.dumps(data, indent=1)
    return replace_atomically(lambda temp: temp.write_text(text, encoding="utf-8"), path, durable)


def copy_atomically(source: Path, target: Path) -> Path:
    return replace_atomically(lambda temp: shutil.copyfile(source, temp), target)


def sync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
