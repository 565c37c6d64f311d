"""What an uploaded picture, video or recording is: its size in pixels, its length, a
thumbnail, and a copy without the metadata a camera wrote (EXIF, GPS). Blocking and CPU-bound:
the Files service runs `examine` in a worker thread.

Pillow reads images; PyAV (installed with aiortc, imported only when a video or recording
arrives) reads durations and the first video frame for a poster.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from appliance.services import filetypes
from appliance.services.filetypes import FileType

log = logging.getLogger(__name__)

THUMB_SIDE = 480  # the longest side of a thumbnail, in pixels
WAVEFORM_BARS = 64  # how many peak levels a voice note's waveform has
# Levels are relative to the loudest moment, but no quieter than this (full scale = 1): a
# silent recording stays flat instead of showing its noise floor at full height.
WAVEFORM_FLOOR = 0.05
THUMB_QUALITY = 80
REENCODE_QUALITY = 92
AVATAR_QUALITY = 85
ORIENTATION = 0x0112  # the EXIF tag
_QUARTER_TURNS = {5, 6, 7, 8}  # orientations that swap width and height
# A JPEG marker ending entropy-coded data (not FF 00, a restart FF D0..D7, or fill FF FF).
_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")

# JPEG markers that carry metadata: APP1 (EXIF, XMP), APP3..APP15 (maker notes, IPTC in
# APP13), COM. APP0 (JFIF) and APP14 (Adobe: how to read the colours) stay; APP2 stays only
# when it is the ICC colour profile (its other use, MPF, points at more pictures).
_JPEG_DROP = {0xE1, *range(0xE3, 0xEE), 0xEF, 0xFE}
_PNG_DROP = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}
_WEBP_DROP = {b"EXIF", b"XMP "}


class ImageTooLargeError(Exception):
    """More pixels than `max_pixels`: a decompression bomb, or just too big to show."""


class NotAPictureError(Exception):
    """Bytes Pillow cannot read as a picture."""


@dataclass(frozen=True, slots=True)
class Facts:
    type: FileType
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    thumb: Path | None = None  # a temp file: the thumbnail (WebP)
    cleaned: Path | None = None  # a temp file: the bytes to keep instead of the upload
    waveform: bytes | None = None  # a voice note's peak levels, one byte (0..255) each


def examine(path: Path, kind: FileType, temp: Callable[[str], Path], *, max_pixels: int) -> Facts:
    """Facts about the file at `path` (sniffed as `kind`); temp files come from `temp`."""
    if kind.image:
        return _image(path, kind, temp, max_pixels)
    if kind.av:
        return _audio_video(path, kind, temp)
    return Facts(kind)


# --- images ----------------------------------------------------------------------------------


@contextmanager
def _opened(path: Path, max_pixels: int) -> Iterator[Image.Image]:
    """The picture at `path`, refused as ImageTooLargeError past `max_pixels` or when Pillow
    calls it a decompression bomb (it warns, and past twice its own limit raises)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                if image.width * image.height > max_pixels:
                    raise ImageTooLargeError()
                yield image
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooLargeError() from None


def _image(path: Path, kind: FileType, temp: Callable[[str], Path], max_pixels: int) -> Facts:
    try:
        with _opened(path, max_pixels) as image:
            orientation = image.getexif().get(ORIENTATION, 1)
            width, height = image.size
            if orientation in _QUARTER_TURNS:
                width, height = height, width
            if orientation in (0, 1):
                # Only the thumbnail needs pixels: a JPEG decodes at 1/2 to 1/8 scale
                # (12 megapixels: 0.9 s and 140 MB down to 0.1 s and a few MB).
                image.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
            upright = ImageOps.exif_transpose(image)
            assert upright is not None
            thumb = _thumbnail(upright, temp(".webp"))
            cleaned = _without_metadata(path, image, upright, kind, temp)
            return Facts(kind, width, height, None, thumb, cleaned)
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        # Says it is a picture and is not one Pillow can read: keep it as a plain file.
        log.info("unreadable image kept as a plain file: %s", error)
        return Facts(filetypes.OTHER)


def square(path: Path, target: Path, *, side: int, max_pixels: int) -> int:
    """A profile or group picture: the upload turned upright, cropped to its centred square,
    scaled down to at most `side` pixels, written to `target` as WebP. Nothing of the
    original's metadata is copied. The side written."""
    try:
        with _opened(path, max_pixels) as image:
            image.draft("RGB", (side, side))  # a JPEG decodes at the scale it needs
            upright = ImageOps.exif_transpose(image)
            assert upright is not None
            edge = min(upright.width, upright.height, side)
            made = ImageOps.fit(upright, (edge, edge), Image.Resampling.LANCZOS)
            _rgb(made).save(target, "WEBP", quality=AVATAR_QUALITY)
            return edge
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise NotAPictureError(str(error)) from None


def _rgb(image: Image.Image) -> Image.Image:
    """RGB, or RGBA when the picture has transparency: what WebP takes."""
    if image.mode in ("RGB", "RGBA"):
        return image
    has_alpha = image.mode in ("LA", "PA") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _thumbnail(image: Image.Image, target: Path) -> Path:
    small = image.copy()
    small.thumbnail((THUMB_SIDE, THUMB_SIDE))
    _rgb(small).save(target, "WEBP", quality=THUMB_QUALITY)
    return target


def _without_metadata(
    path: Path,
    image: Image.Image,
    upright: Image.Image,
    kind: FileType,
    temp: Callable[[str], Path],
) -> Path | None:
    """The bytes to keep: the upload with its metadata cut out (losslessly), or for a JPEG
    that only shows upright through its EXIF orientation, re-encoded upright."""
    data = path.read_bytes()
    target = temp(".clean")
    if kind is filetypes.JPEG:
        if image.getexif().get(ORIENTATION, 1) not in (0, 1):
            icc = image.info.get("icc_profile")
            extra: dict[str, Any] = {"icc_profile": icc} if icc else {}
            upright.convert("RGB").save(target, "JPEG", quality=REENCODE_QUALITY, **extra)
            return target
        cleaned = strip_jpeg(data)
    elif kind is filetypes.PNG:
        cleaned = strip_png(data)
    elif kind is filetypes.WEBP:
        cleaned = strip_webp(data)
    else:
        return None  # GIF carries no EXIF
    if cleaned == data:
        return None
    target.write_bytes(cleaned)
    return target


def strip_jpeg(data: bytes) -> bytes:
    """A JPEG without its metadata segments, and without anything after the picture."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    out = bytearray(b"\xff\xd8")
    i = 2
    while i + 1 < len(data):
        if data[i] != 0xFF:
            raise ValueError("broken JPEG")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:  # end of image: what follows is not this picture
            out += b"\xff\xd9"
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += data[i : i + 2]
            i += 2
            continue
        end = i + 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        segment = data[i:end]
        keep = marker not in _JPEG_DROP and not (
            marker == 0xE2 and not segment[4:16].startswith(b"ICC_PROFILE\x00")
        )
        if keep:
            out += segment
        i = end
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next real marker
            scan_end = _next_marker(data, i)
            out += data[i:scan_end]
            i = scan_end
    raise ValueError("JPEG without an end")


def _next_marker(data: bytes, i: int) -> int:
    """Where the entropy-coded data from `i` ends: the next 0xFF that is not a stuffed byte
    (FF 00), a restart marker (FF D0..D7) or fill before another FF. One regex search in C:
    a loop over every 0xFF took 0.13 s of a 12-megapixel photo's 0.37."""
    found = _MARKER.search(data, i)
    return len(data) if found is None else found.start()


def strip_png(data: bytes) -> bytes:
    """A PNG without EXIF and text chunks (which is where cameras and editors write)."""
    out = bytearray(data[:8])
    i = 8
    while i + 12 <= len(data):
        length = int.from_bytes(data[i : i + 4], "big")
        chunk_type = data[i + 4 : i + 8]
        end = i + 12 + length
        if chunk_type not in _PNG_DROP:
            out += data[i:end]
        i = end
        if chunk_type == b"IEND":
            break
    return bytes(out)


def strip_webp(data: bytes) -> bytes:
    """A WebP without its EXIF and XMP chunks (and the header flags that announce them)."""
    chunks = []
    i = 12
    while i + 8 <= len(data):
        fourcc = data[i : i + 4]
        size = int.from_bytes(data[i + 4 : i + 8], "little")
        end = i + 8 + size + (size & 1)
        if fourcc not in _WEBP_DROP:
            chunk = bytearray(data[i:end])
            if fourcc == b"VP8X" and len(chunk) > 8:
                chunk[8] &= ~0x0C & 0xFF  # the EXIF (0x08) and XMP (0x04) flags
            chunks.append(bytes(chunk))
        i = end
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


# --- audio and video -------------------------------------------------------------------------


def _audio_video(path: Path, kind: FileType, temp: Callable[[str], Path]) -> Facts:
    try:
        import av  # PyAV comes with aiortc; loaded only when a recording or video arrives
    except ImportError:  # pragma: no cover - aiortc is a dependency
        return Facts(kind)
    try:
        with av.open(str(path)) as container:
            duration = container.duration * 1000 // av.time_base if container.duration else None
            video = next((s for s in container.streams if s.type == "video"), None)
            if video is None:
                waveform, heard_ms = _waveform(container)
                # A browser's recording (MediaRecorder's WebM) has no length in its header: the
                # decoded samples give it.
                duration = duration if duration is not None else heard_ms
                return Facts(_as_audio(kind), duration_ms=duration, waveform=waveform)
            frame = next(container.decode(video), None)
            if not isinstance(frame, av.VideoFrame):
                return Facts(kind, duration_ms=duration)
            picture = frame.to_image()  # type: ignore[no-untyped-call]
            return Facts(
                kind, picture.width, picture.height, duration, _thumbnail(picture, temp(".webp"))
            )
    except Exception as error:  # any FFmpeg complaint: a file without facts, still a file
        log.info("no media facts for a %s upload: %s", kind.mime, error)
        return Facts(kind)


def _waveform(container: Any) -> tuple[bytes | None, int | None]:
    """WAVEFORM_BARS peak levels (0..255) of a recording's first audio stream, and its length
    in ms as decoded: each decoded frame's loudest sample, placed by its position in time, so
    memory stays one frame (and a list of peaks) whatever the length."""
    stream = next((s for s in container.streams if s.type == "audio"), None)
    if stream is None:
        return None, None
    peaks: list[tuple[int, float]] = []  # (samples, peak) per frame
    rate = 0
    try:
        for frame in container.decode(stream):
            peaks.append((frame.samples, _peak(frame.to_ndarray())))
            rate = frame.sample_rate or rate
    except Exception as error:  # a recording cut short: the waveform of what there is
        log.info("waveform stopped early: %s", error)
    total = sum(samples for samples, _ in peaks)
    if total == 0:
        return None, None
    heard_ms = total * 1000 // rate if rate else None
    bars: list[float | None] = [None] * WAVEFORM_BARS
    position = 0
    for samples, peak in peaks:
        bar = min(position * WAVEFORM_BARS // total, WAVEFORM_BARS - 1)
        bars[bar] = max(bars[bar] or 0.0, peak)
        position += samples
    held, last = [], 0.0
    for level in bars:  # a recording shorter than the bars: each frame spans several
        last = last if level is None else level
        held.append(last)
    loudest = max(max(held), WAVEFORM_FLOOR)
    return bytes(round(255 * level / loudest) for level in held), heard_ms


def _peak(samples: Any) -> float:
    """The loudest sample of a decoded frame, full scale = 1 (float or integer samples)."""
    import numpy as np

    if samples.size == 0:
        return 0.0
    if np.issubdtype(samples.dtype, np.unsignedinteger):  # 8-bit: silence is the midpoint
        middle = (int(np.iinfo(samples.dtype).max) + 1) // 2
        return min(float(np.abs(samples.astype(np.int32) - middle).max()) / middle, 1.0)
    peak = float(np.abs(samples.astype(np.float64)).max())
    if np.issubdtype(samples.dtype, np.integer):
        peak /= float(np.iinfo(samples.dtype).max)
    return min(peak, 1.0)


def _as_audio(kind: FileType) -> FileType:
    """A WebM or MP4 with no picture is a recording (a voice note from a browser)."""
    if kind is filetypes.WEBM:
        return filetypes.AUDIO_WEBM
    if kind is filetypes.MP4:
        return filetypes.M4A
    return kind
