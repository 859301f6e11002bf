"""Rewrite MP4 files made by OpenCV's writer: move the index to the front (a "fast-start" file, which still opens
when cut) and give the frames irregular times (a variable-frame-rate file). Only the atoms OpenCV writes are
handled; enough to make test files, not a general MP4 editor."""

from __future__ import annotations

import struct
from pathlib import Path

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta"}


def _atoms(data: bytes, start: int = 0, end: int | None = None):
    """(type, offset, size) of the atoms in ``data[start:end]``."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size == 1:
            size = struct.unpack_from(">Q", data, offset + 8)[0]
        elif size == 0:
            size = end - offset
        yield kind, offset, size
        offset += size


def _find(data: bytes, path: list[bytes], start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Offsets and sizes of every atom at ``path`` (e.g. [b"moov", b"trak", ..., b"stco"])."""
    found = []
    for kind, offset, size in _atoms(data, start, end):
        if kind != path[0]:
            continue
        if len(path) == 1:
            found.append((offset, size))
        else:
            found.extend(_find(data, path[1:], offset + 8, offset + size))
    return found


STBL = [b"moov", b"trak", b"mdia", b"minf", b"stbl"]


def fast_start(source: Path, target: Path) -> Path:
    """``target``: ``source`` with ``moov`` before ``mdat`` and the chunk offsets moved to match."""
    data = source.read_bytes()
    top = {kind: (offset, size) for kind, offset, size in _atoms(data)}
    moov = bytearray(data[top[b"moov"][0]:sum(top[b"moov"])])
    shift = len(moov)
    for offset, _size in _find(bytes(moov), [*STBL[1:], b"stco"], 8):
        count = struct.unpack_from(">I", moov, offset + 12)[0]
        for index in range(count):
            at = offset + 16 + 4 * index
            struct.pack_into(">I", moov, at, struct.unpack_from(">I", moov, at)[0] + shift)
    pieces = [data[offset:offset + size] for kind, offset, size in _atoms(data) if kind != b"moov"]
    first, rest = pieces[0], pieces[1:]  # ftyp stays first
    target.write_bytes(first + bytes(moov) + b"".join(rest))
    return target


def variable_rate(source: Path, target: Path, deltas: list[int]) -> Path:
    """``target``: ``source`` whose frame ``i`` lasts ``deltas[i]`` ticks of the track's timescale (its ``stts``
    rewritten, durations updated). ``len(deltas)`` must equal the frame count."""
    data = bytearray(source.read_bytes())
    (stts_at, stts_size), = _find(bytes(data), [*STBL, b"stts"])
    entries = struct.unpack_from(">I", data, stts_at + 12)[0]
    frames = sum(struct.unpack_from(">I", data, stts_at + 16 + 8 * i)[0] for i in range(entries))
    if frames != len(deltas):
        raise ValueError(f"{frames} frames, {len(deltas)} durations")
    table = b"".join(struct.pack(">II", 1, delta) for delta in deltas)
    stts = struct.pack(">I4sII", 16 + len(table), b"stts", 0, len(deltas)) + table
    grow = len(stts) - stts_size
    data[stts_at:stts_at + stts_size] = stts
    for path in ([b"moov"], [b"moov", b"trak"], [b"moov", b"trak", b"mdia"], [b"moov", b"trak", b"mdia", b"minf"],
                 STBL):
        (offset, size), = _find(bytes(data), path) if path != STBL else _find(bytes(data), STBL)
        struct.pack_into(">I", data, offset, struct.unpack_from(">I", data, offset)[0] + grow)
    _set_durations(data, sum(deltas))
    moov_at = _find(bytes(data), [b"moov"])[0][0]
    mdat_at = _find(bytes(data), [b"mdat"])[0][0]
    if mdat_at > moov_at:  # mdat after moov: its samples moved by ``grow``
        for offset, _ in _find(bytes(data), [*STBL, b"stco"]):
            count = struct.unpack_from(">I", data, offset + 12)[0]
            for index in range(count):
                at = offset + 16 + 4 * index
                struct.pack_into(">I", data, at, struct.unpack_from(">I", data, at)[0] + grow)
    target.write_bytes(bytes(data))
    return target


def _set_durations(data: bytearray, ticks: int) -> None:
    """The media header's duration in its timescale, the movie's and the track's in the movie timescale."""
    (mdhd, _), = _find(bytes(data), [b"moov", b"trak", b"mdia", b"mdhd"])
    (mvhd, _), = _find(bytes(data), [b"moov", b"mvhd"])
    (tkhd, _), = _find(bytes(data), [b"moov", b"trak", b"tkhd"])
    if data[mdhd + 8] != 0 or data[mvhd + 8] != 0 or data[tkhd + 8] != 0:
        raise ValueError("64-bit headers are not handled")
    media_scale = struct.unpack_from(">I", data, mdhd + 20)[0]
    struct.pack_into(">I", data, mdhd + 24, ticks)
    movie_scale = struct.unpack_from(">I", data, mvhd + 20)[0]
    movie_ticks = round(ticks * movie_scale / media_scale)
    struct.pack_into(">I", data, mvhd + 24, movie_ticks)
    struct.pack_into(">I", data, tkhd + 28, movie_ticks)
    for elst, _ in _find(bytes(data), [b"moov", b"trak", b"edts", b"elst"]):  # the edit list would cut the track
        if data[elst + 8] == 0 and struct.unpack_from(">I", data, elst + 12)[0] == 1:
            struct.pack_into(">I", data, elst + 16, movie_ticks)
