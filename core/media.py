"""Find and read the user's photos, videos and folders of them (OpenCV, no Blender).

Frames come out as ``(H, W, 3) uint8`` RGB arrays. Every failure a user can cause (a missing file, a pipe or a
device given as a file, a corrupt or enormous image, a video OpenCV cannot decode) is a :class:`MediaError`
with a sentence saying what to do. A photo's size is read from its header before it is decoded, so a small
file that claims a huge picture is refused without the memory; videos are opened read-only through FFmpeg.
"""

from __future__ import annotations

import math
import os
import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import MediaError
from .fileio import path_problem, special_kind

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})
MAX_PIXELS = 100_000_000  # per photo or video frame: about 300 MB decoded
MIN_SIDE = 16  # pixels: a smaller picture cannot show a person (and 1 pixel breaks the detector)
MAX_PHOTO_BYTES = 1 << 30
MAX_FPS = 1000.0  # a container rate above this is a placeholder, not a frame rate
MAX_FRAME_COUNT = 10_000_000  # a larger announced count is a damaged header
DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class MediaInfo:
    """What a photo or video holds. ``frame_count`` is 1 for a photo (for a video, what its container
    announces, at least 1); ``fps`` is 0.0 for a photo."""

    path: Path
    kind: str  # "photo" or "video"
    frame_count: int
    fps: float
    width: int
    height: int


def media_kind(path: Path) -> str:
    """Return "photo", "video" or "folder" for ``path``, judged by its suffix."""
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in PHOTO_SUFFIXES:
        return "photo"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    known = ", ".join(sorted(PHOTO_SUFFIXES | VIDEO_SUFFIXES))
    raise MediaError(f'"{path.name}" is not a photo or a video. Pick a file ending in one of: {known}.')


def collect_inputs(paths: list[str | Path], skipped: list[str] | None = None) -> list[Path]:
    """Expand folders into their photos and videos (sorted by name); check every file exists and is a
    regular file.

    Returns the media files in the order given, folders expanded in place. Entries of a folder that cannot
    be read (a pipe named like a photo, a broken link) are left out and described in ``skipped``.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if os.path.isdir(path):
            found.extend(_media_in_folder(path, skipped if skipped is not None else []))
            continue
        problem = path_problem(path, "input")
        if problem:
            raise MediaError(problem)
        media_kind(path)
        found.append(path)
    return found


def _media_in_folder(folder: Path, skipped: list[str]) -> list[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise MediaError(f'The folder "{folder}" cannot be read ({exc.strerror or "error"}). '
                         'Check its permissions.') from None
    files = []
    for entry in entries:
        if entry.name.startswith(".") or entry.suffix.lower() not in PHOTO_SUFFIXES | VIDEO_SUFFIXES:
            continue  # hidden files (macOS "._photo.jpg" companions) and other files are not inputs
        try:
            mode = os.stat(entry).st_mode
        except OSError:
            skipped.append(f'"{entry.name}" in "{folder.name}" was skipped: it is a broken link.')
            continue
        if stat.S_ISREG(mode):
            files.append(entry)
        elif not stat.S_ISDIR(mode):
            skipped.append(f'"{entry.name}" in "{folder.name}" was skipped: it is {special_kind(mode)}, '
                           'not a file.')
    if not files:
        raise MediaError(f'The folder "{folder}" holds no photos or videos. '
                         'Pick a folder with .jpg, .png or .mp4 files.')
    return files


def read_photo(path: Path) -> np.ndarray:
    """Decode one photo to RGB. Reads through numpy so non-ASCII paths work on every platform."""
    import cv2

    data = _photo_bytes(path)
    width, height = photo_size(data, path.name)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise MediaError(f'"{path.name}" could not be decoded as an image: it is damaged or not really a photo. '
                         'Open it in an image viewer and save it again as JPEG or PNG.')
    _check_pixels(path.name, image.shape[1], image.shape[0])
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=image)  # in place: no second copy of a big photo


def _photo_bytes(path: Path) -> np.ndarray:
    problem = path_problem(path, "photo")
    if problem:
        raise MediaError(problem)
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f'"{path.name}" is empty (0 bytes). Copy the photo again: '
                         'the file was probably not fully saved.')
    if size > MAX_PHOTO_BYTES:
        raise MediaError(f'"{path.name}" is {size / 1e9:.1f} GB, more than any photo Pocket Mocap reads '
                         f'({MAX_PHOTO_BYTES / 1e9:.1f} GB). Save it as a JPEG.')
    try:
        return np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise MediaError(f'"{path.name}" could not be read ({exc.strerror}). Check that the file is readable.') \
            from None


def photo_size(data: bytes | np.ndarray, name: str) -> tuple[int, int]:
    """``(width, height)`` from the header of a JPEG, PNG, BMP, TIFF or WebP, checked against the limits,
    before anything is decoded."""
    def read(start: int, stop: int) -> bytes:
        return bytes(data[max(start, 0):max(stop, 0)])

    reader = next((read_size for magic, read_size in _HEADERS if read(0, len(magic)) == magic), None)
    if reader is None:
        raise MediaError(f'"{name}" is not a JPEG, PNG, BMP, TIFF or WebP image (its first bytes say otherwise). '
                         'Open it in an image viewer and save it again as JPEG or PNG.')
    try:
        size = reader(read)
    except (struct.error, IndexError, ValueError):
        size = None
    if size is None:
        raise MediaError(f'"{name}" could not be decoded as an image: its header is damaged. '
                         'Open it in an image viewer and save it again as JPEG or PNG.')
    _check_pixels(name, *size)
    return size


def _check_pixels(name: str, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise MediaError(f'"{name}" is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); '
                         f"Pocket Mocap reads at most {MAX_PIXELS // 1_000_000} megapixels. Make it smaller in an "
                         "image or video editor and try again.")
    if min(width, height) < MIN_SIDE:
        raise MediaError(f'"{name}" is only {width}×{height} pixels, too small to show a person. Use a picture at '
                         f"least {MIN_SIDE} pixels on each side.")


def _png_size(read) -> tuple[int, int] | None:
    if read(12, 16) != b"IHDR":
        return None
    return struct.unpack(">II", read(16, 24))


def _jpeg_size(read) -> tuple[int, int] | None:
    offset = 2
    for _ in range(10_000):  # segments before the frame header: a few dozen in real files
        marker = read(offset, offset + 4)
        if len(marker) < 4 or marker[0] != 0xFF:
            return None
        if marker[1] == 0xFF:  # fill byte
            offset += 1
            continue
        if marker[1] in (0xD8, 0x01) or 0xD0 <= marker[1] <= 0xD7:  # markers without a length
            offset += 2
            continue
        length = struct.unpack(">H", marker[2:4])[0]
        if 0xC0 <= marker[1] <= 0xCF and marker[1] not in (0xC4, 0xC8, 0xCC):  # start of frame
            height, width = struct.unpack(">HH", read(offset + 5, offset + 9))
            return width, height
        if marker[1] == 0xDA or length < 2:  # image data before any frame header
            return None
        offset += 2 + length
    return None


def _bmp_size(read) -> tuple[int, int] | None:
    header = struct.unpack("<I", read(14, 18))[0]
    if header == 12:
        return struct.unpack("<HH", read(18, 22))
    width, height = struct.unpack("<ii", read(18, 26))
    return abs(width), abs(height)


def _tiff_size(read) -> tuple[int, int] | None:
    order = "<" if read(0, 2) == b"II" else ">"
    entries_at = struct.unpack(order + "I", read(4, 8))[0]
    count = struct.unpack(order + "H", read(entries_at, entries_at + 2))[0]
    found = {}
    for index in range(count):
        entry = read(entries_at + 2 + 12 * index, entries_at + 14 + 12 * index)
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag in (256, 257):
            value = entry[8:10] if kind == 3 else entry[8:12]  # SHORT or LONG
            found[tag] = struct.unpack(order + ("H" if kind == 3 else "I"), value)[0]
    return (found[256], found[257]) if len(found) == 2 else None


def _webp_size(read) -> tuple[int, int] | None:
    if read(8, 12) != b"WEBP":
        return None
    chunk = read(12, 16)
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", read(26, 30))
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = struct.unpack("<I", read(21, 25))[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(read(24, 27), "little") + 1, int.from_bytes(read(27, 30), "little") + 1
    return None


_HEADERS = ((b"\x89PNG\r\n\x1a\n", _png_size), (b"\xff\xd8", _jpeg_size), (b"BM", _bmp_size),
            (b"II*\x00", _tiff_size), (b"MM\x00*", _tiff_size), (b"RIFF", _webp_size))


def probe(path: Path) -> MediaInfo:
    """Open ``path`` and describe it, decoding at most one frame."""
    kind = media_kind(path)
    if kind == "photo":
        image = read_photo(path)
        return MediaInfo(path, "photo", 1, 0.0, image.shape[1], image.shape[0])
    if kind == "video":
        return _probe_video(path)
    raise MediaError(f'"{path}" is a folder; pick one photo or video inside it.')


def _open_video(path: Path):
    """An FFmpeg capture of ``path``, checked: a regular file, not empty, frames of a sensible size. FFmpeg
    only, never OpenCV's other backends, which would open the file for writing while they probe it."""
    import cv2

    problem = path_problem(path, "video")
    if problem:
        raise MediaError(problem)
    if path.stat().st_size == 0:
        raise MediaError(f'"{path.name}" is empty (0 bytes). Copy the video again: '
                         'the file was probably not fully saved.')
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        raise MediaError(f'"{path.name}" could not be opened as a video: it is damaged or uses a codec the bundled '
                         'OpenCV cannot read. Convert it to an H.264 MP4.')
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if width > 0 and height > 0:
        try:
            _check_pixels(path.name, width, height)
        except MediaError:
            capture.release()
            raise
    return capture


def _probe_video(path: Path) -> MediaInfo:
    import cv2

    capture = _open_video(path)
    try:
        ok, frame = _read(capture, path, 0)
        if not ok or frame is None:
            raise MediaError(f'"{path.name}" holds no frame that can be decoded: it is empty, truncated or damaged. '
                             'Convert it to an H.264 MP4 and try again.')
        _check_pixels(path.name, frame.shape[1], frame.shape[0])
        count = _finite(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = _finite(capture.get(cv2.CAP_PROP_FPS))
        count = int(count) if 0 < count <= MAX_FRAME_COUNT else 1
        fps = fps if 0 < fps <= MAX_FPS else DEFAULT_FPS
        return MediaInfo(path, "video", max(count, 1), fps, frame.shape[1], frame.shape[0])
    finally:
        capture.release()


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def _read(capture, path: Path, index: int):
    import cv2

    try:
        return capture.read()
    except cv2.error:
        raise MediaError(f'"{path.name}" could not be decoded at frame {index + 1}: it is damaged. '
                         'Convert it to an H.264 MP4 and try again.') from None


class VideoFrames:
    """A video's frames in decoding order, ``(index, rgb)``, and the time of each (``times``, seconds from the
    first frame; filled as the frames are read, for variable-frame-rate videos)."""

    def __init__(self, path: Path):
        self.path = path
        self.times: list[float] = []

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        import cv2

        self.times = []
        capture = _open_video(self.path)
        try:
            size = None
            index = 0
            while True:
                ok, frame = _read(capture, self.path, index)
                if not ok or frame is None:
                    return
                if size is None:
                    size = frame.shape
                elif frame.shape != size:
                    raise MediaError(f'"{self.path.name}" changes its picture size at frame {index + 1} '
                                     f"({size[1]}×{size[0]} to {frame.shape[1]}×{frame.shape[0]}). Convert it to "
                                     "an H.264 MP4 of one size and try again.")
                self.times.append(_finite(capture.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0)
                yield index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                index += 1
        finally:
            capture.release()


def iter_frames(path: Path, start: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, rgb)`` for every frame of a photo or video, from frame ``start`` on."""
    if media_kind(path) == "photo":
        if start == 0:
            yield 0, read_photo(path)
        return
    for index, rgb in VideoFrames(path):
        if index >= start:
            yield index, rgb


def probe_inputs(paths: list[Path], warn) -> list[MediaInfo]:
    """Describe every input. With several, one that cannot be read becomes a warning (``warn(sentence)``) and
    the others go on; when none can be read, or there is only one, its error is raised."""
    infos, errors = [], []
    for path in paths:
        try:
            infos.append(probe(path))
        except MediaError as exc:
            if len(paths) == 1:
                raise
            errors.append(exc)
            warn(str(exc))
    if not infos and errors:
        raise MediaError(f"None of the {len(paths)} inputs can be read; the first: {errors[0]}")
    return infos


def truncation_warning(info: MediaInfo, decoded: int) -> str:
    """A sentence when a video ended clearly before the frame count its container announces, else ""."""
    announced = info.frame_count
    if info.kind != "video" or decoded >= announced - max(1, announced // 100):
        return ""
    return (f'"{info.path.name}" ended after {decoded} of the {announced} frames its header announces: the file '
            f"is probably truncated, and only those {decoded} frames were used.")


def constant_rate(times: list[float] | np.ndarray) -> tuple[np.ndarray, float] | None:
    """For frames shown at ``times (F,)`` seconds, which frame to show at each tick of a constant rate:
    ``(indices (N,), rate)``. The rate is the video's most common frame interval; each tick shows the frame
    nearest its time. ``None`` when the frames are already evenly spaced (no frame more than a quarter of an
    interval off), when the times are unusable, or when they jump so far that resampling would make ten times
    more frames than there are."""
    times = np.asarray(times, np.float64)
    steps = np.diff(times)
    if len(times) < 3 or not np.all(np.isfinite(times)) or not np.any(steps > 0):
        return None
    slope, offset = np.polyfit(np.arange(len(times)), times, 1)  # the rate of an evenly spaced video
    if slope > 0 and np.max(np.abs(times - (offset + slope * np.arange(len(times))))) <= 0.25 * slope:
        return None
    interval = float(np.median(steps[steps > 0]))
    ticks = int(round((times.max() - times[0]) / interval)) + 1
    if ticks > 10 * len(times):
        return None
    order = np.argsort(times, kind="stable")
    ordered = times[order]
    wanted = times[0] + np.arange(ticks) * interval
    after = np.clip(np.searchsorted(ordered, wanted), 1, len(times) - 1)
    nearer_before = wanted - ordered[after - 1] <= ordered[after] - wanted
    return order[np.where(nearer_before, after - 1, after)], 1.0 / interval
