"""Run one hostile case through the real command line and judge everything a user would see or be left with:
the exit code, one ``error:`` sentence (no traceback, no library's text), no stray file or temporary folder, the
input files never opened for writing, the peak memory of the command and its worker, and no hang."""

from __future__ import annotations

import ctypes
import os
import re
import signal
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# Text that must never reach the user: Python's, onnxruntime's or OpenCV's own words.
LEAKS = re.compile(r"Traceback|File \"|\b[A-Z]\w*(Error|Exception)\b(?! [a-z])|\[ONNXRuntimeError\]|onnxruntime::|"
                   r"OpenCV\(|cv2\.error|Errno|<[a-z_.]+ object at 0x")
ALLOWED_STDERR = ("warning: ", "error: ")
IN_CLOSE_WRITE = 0x08


@dataclass
class Run:
    code: int | None  # None: killed after the timeout (a hang)
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float  # the largest resident set of the command and its worker
    written_inputs: list[str] = field(default_factory=list)  # input files opened for writing
    stray: list[str] = field(default_factory=list)  # files left behind that should not be there
    orphans: bool = False  # processes of the command still alive after it exited

    @property
    def errors(self) -> list[str]:
        return [line[len("error: "):] for line in self.stderr.splitlines() if line.startswith("error: ")]

    @property
    def warnings(self) -> list[str]:
        return [line[len("warning: "):] for line in self.stderr.splitlines() if line.startswith("warning: ")]


class InputWatch:
    """inotify on the folders holding the inputs: which of the named files were opened for writing and closed
    (Linux; elsewhere it sees nothing)."""

    def __init__(self, folders: list[Path]):
        self.fd = -1
        try:
            self.libc = ctypes.CDLL("libc.so.6", use_errno=True)
            self.fd = self.libc.inotify_init1(os.O_NONBLOCK)
        except OSError:
            return
        for folder in folders:
            self.libc.inotify_add_watch(self.fd, os.fsencode(folder), IN_CLOSE_WRITE)

    def written(self) -> set[str]:
        if self.fd < 0:
            return set()
        names, data = set(), b""
        try:
            while chunk := os.read(self.fd, 65536):
                data += chunk
        except BlockingIOError:
            pass
        offset = 0
        while offset + 16 <= len(data):
            _wd, _mask, _cookie, length = struct.unpack_from("iIII", data, offset)
            names.add(os.fsdecode(data[offset + 16:offset + 16 + length].rstrip(b"\0")))
            offset += 16 + length
        os.close(self.fd)
        return names


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and link under ``folder``: relative path -> (size, mtime)."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            found[os.path.relpath(path, folder)] = (info.st_size, info.st_mtime_ns)
    return found


def run_command(args: list[str], cwd: Path, env: dict, timeout: float, logs: Path
                ) -> tuple[int | None, float, float, bool]:
    """Run ``python -m pocket_mocap.cli *args``; (exit code or None on timeout, seconds, peak MB, whether any
    process it started outlived it)."""
    import subprocess

    with open(logs / "stdout.txt", "wb") as out, open(logs / "stderr.txt", "wb") as err:
        process = subprocess.Popen([sys.executable, "-m", "pocket_mocap.cli", *args], cwd=cwd, env=env,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
    started = time.monotonic()
    code, peaks = None, {}
    while True:
        _high_water(process.pid, peaks)
        pid, status = os.waitpid(process.pid, os.WNOHANG)
        if pid:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() - started > timeout:
            os.killpg(process.pid, signal.SIGKILL)
            os.waitpid(process.pid, 0)
            break
        time.sleep(0.01)
    process.returncode = -1 if code is None else code  # reaped here, not by Popen
    orphans = _group_alive(process.pid)
    if orphans:
        os.killpg(process.pid, signal.SIGKILL)
    return code, time.monotonic() - started, max(peaks.values(), default=0) / 1024, orphans


def _high_water(pid: int, peaks: dict[int, int]) -> None:
    """The high-water resident set (kB) of ``pid`` and its descendants that run our code (the command and its
    worker), read from /proc: a process's own, never the forking parent's it starts with (Linux)."""
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            command = Path(f"/proc/{current}/cmdline").read_bytes()
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
        if b"pocket_mocap" in command or b"launch.py" in command:
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks[current] = max(peaks.get(current, 0), int(line.split()[1]))


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def run_case(args: list[str], work: Path, cwd: Path, outputs: list[str], timeout: float) -> Run:
    """``work`` holds the case's files (``cwd`` is inside it); ``outputs`` are the files the command may create
    there (relative to ``work``), besides anything under ``cache/`` that a cache may hold."""
    tmp = work.parent / "tmp"
    tmp.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp), XDG_CACHE_HOME=str(work.parent / "xdg"), PYTHONUNBUFFERED="1")
    env.pop("BLENDER_USER_RESOURCES", None)  # the command must make (and remove) its own
    before = snapshot(work)
    folders = sorted({(work / rel).parent for rel in before} | {work})
    watch = InputWatch([f for f in folders if f.is_dir() and not f.is_symlink()])
    code, seconds, peak, orphans = run_command(args, cwd, env, timeout, work.parent)
    written = watch.written()
    after = snapshot(work)
    stray = [rel for rel in after if rel not in before and rel not in outputs and not _allowed_cache(rel)]
    stray += [f"$TMPDIR/{rel}" for rel in snapshot(tmp)]
    stray += [f"$TMPDIR/{name}/" for name in os.listdir(tmp) if os.path.isdir(tmp / name)]
    stray += [f"$XDG_CACHE_HOME/{rel}" for rel in snapshot(work.parent / "xdg") if not _allowed_cache(rel)] \
        if (work.parent / "xdg").is_dir() else []
    inputs = {Path(rel).name for rel in before}
    return Run(code, (work.parent / "stdout.txt").read_text(errors="replace"),
               (work.parent / "stderr.txt").read_text(errors="replace"), seconds, peak,
               sorted(written & inputs), sorted(set(stray)), orphans)


CACHE_FILE = re.compile(r"(^|/)(pocket-mocap/)?(results/[0-9a-f]{16}/(result\.npz|notes\.json|partial\.npz|"
                        r"chunks/chunk_\d{6}\.npz))$")


def _allowed_cache(rel: str) -> bool:
    """What a result cache may keep after a run: finished results, their notes and chunks (never temporary
    files, never job folders)."""
    return bool(CACHE_FILE.search(rel))


def judge(run: Run, code: int | tuple[int, ...], says: str = "", warns: str = "", max_mb: float = 1024) -> list[str]:
    """What is wrong with ``run`` (empty when the case passed)."""
    problems = []
    codes = (code,) if isinstance(code, int) else code
    if run.code is None:
        return [f"hang: killed after {run.seconds:.0f} s"]
    if run.code not in codes:
        problems.append(f"exit code {run.code}, expected {codes}")
    noise = [line for line in run.stderr.splitlines() if line and not line.startswith(ALLOWED_STDERR)]
    if noise:
        problems.append(f"stderr holds other lines: {noise[:3]}")
    if run.code != 0:
        if len(run.errors) != 1:
            problems.append(f"{len(run.errors)} error lines")
    elif run.errors:
        problems.append("error line on success")
    for message in run.errors + run.warnings:
        if LEAKS.search(message):
            problems.append(f"internal text shown: {message[:200]}")
        if len(message) > 500 or not message.rstrip(")").endswith((".", "?")):
            problems.append(f"not one sentence: {message[:200]}")
    if says and run.code != 0 and not any(re.search(says, m, re.I) for m in run.errors):
        problems.append(f"error does not say {says!r}: {run.errors}")
    if warns and not any(re.search(warns, m, re.I) for m in run.warnings):
        problems.append(f"no warning saying {warns!r}: {run.warnings}")
    if run.orphans:
        problems.append("a process of the command outlived it")
    if run.written_inputs:
        problems.append(f"inputs opened for writing: {run.written_inputs}")
    if run.stray:
        problems.append(f"stray files: {run.stray[:5]}")
    if run.peak_mb > max_mb:
        problems.append(f"peak memory {run.peak_mb:.0f} MB > {max_mb:.0f} MB")
    return problems
