"""What a file is, from its first bytes (magic numbers): never from the name or the type the
client sent. Anything not recognised is `application/octet-stream`; SVG and HTML are never
recognised, so they are never served as something a browser would render or run."""

from __future__ import annotations

from dataclasses import dataclass

# How many leading bytes `sniff` looks at.
HEAD_BYTES = 64
OCTET_STREAM = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class FileType:
    mime: str
    kind: str  # media | voice | files: the gallery tab it belongs to
    image: bool = False  # Pillow reads it; the image size limit applies
    av: bool = False  # audio or video: PyAV may find a duration (and a poster frame)
    inline: bool = False  # safe for a browser to show in the page (img, video, audio)


def _image(mime: str) -> FileType:
    return FileType(mime, "media", image=True, inline=True)


def _video(mime: str) -> FileType:
    return FileType(mime, "media", av=True, inline=True)


def _audio(mime: str) -> FileType:
    return FileType(mime, "voice", av=True, inline=True)


JPEG = _image("image/jpeg")
PNG = _image("image/png")
GIF = _image("image/gif")
WEBP = _image("image/webp")
MP4 = _video("video/mp4")
MOV = _video("video/quicktime")
WEBM = _video("video/webm")
M4A = _audio("audio/mp4")
AUDIO_WEBM = _audio("audio/webm")
OGG = _audio("audio/ogg")
MP3 = _audio("audio/mpeg")
WAV = _audio("audio/wav")
PDF = FileType("application/pdf", "files")
ZIP = FileType("application/zip", "files")
OTHER = FileType(OCTET_STREAM, "files")

ALL = (JPEG, PNG, GIF, WEBP, MP4, MOV, WEBM, M4A, AUDIO_WEBM, OGG, MP3, WAV, PDF, ZIP, OTHER)
BY_MIME = {each.mime: each for each in ALL}

_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P "}


def _mp3(head: bytes) -> bool:
    if head.startswith(b"ID3"):
        return True
    # An MPEG audio frame header: 11 sync bits, layer III, not a reserved version or rate.
    return (
        len(head) >= 3
        and head[0] == 0xFF
        and head[1] & 0xE0 == 0xE0
        and head[1] & 0x06 == 0x02
        and head[1] & 0x18 != 0x08
        and head[2] & 0xF0 != 0xF0
        and head[2] & 0x0C != 0x0C
    )


def sniff(head: bytes) -> FileType:
    """The type of a file from its first `HEAD_BYTES` bytes."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _AUDIO_BRANDS:
            return M4A
        return MOV if brand == b"qt  " else MP4
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM, or Matroska (played as WebM)
        return WEBM
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"%PDF-"):
        return PDF
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):  # zip, and docx/xlsx/odt/epub inside
        return ZIP
    if _mp3(head):
        return MP3
    return OTHER
