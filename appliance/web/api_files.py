"""Files under /api/v1: uploading (a raw body, streamed), fetching (members only, with Range
and ETag), and a chat's gallery."""

from __future__ import annotations

from urllib.parse import quote, unquote

from quart import Blueprint, Response, request
from quart.wrappers.response import FileBody
from quart_schema import tag, validate_querystring, validate_response
from werkzeug.datastructures import ContentRange
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from appliance.api.current import hearth
from appliance.api.requests import MediaQuery
from appliance.api.shapes import FileOut, MediaPageOut
from appliance.services.files import Served, file_not_found
from appliance.web import openapi
from appliance.web.api_chats import me
from appliance.web.auth import login_required

blueprint = Blueprint("files", __name__, url_prefix="/api/v1")
tag_files = tag(["files"])

UPLOAD_PATH = "/api/v1/files"
NAME_HEADER = "X-File-Name"
# Content-addressed: the bytes behind a file id never change.
CACHE_CONTROL = "private, max-age=31536000, immutable"
# Bytes read per step when sending a file (a worker-thread trip each): Quart's default of
# 8 KiB held a download to about 8 MB/s on a busy 2-core machine.
SEND_CHUNK = 256 * 1024
# A file is data, never a page: nothing in it may run, whatever a browser makes of it.
FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"


@blueprint.post("/files")
@login_required
@openapi.raw_request_body
@validate_response(FileOut, 201)
@tag_files
async def upload() -> tuple[FileOut, int]:
    """Upload a file: the raw bytes as the body, its name percent-encoded (UTF-8) in the
    X-File-Name header. The server decides what it is from the bytes."""
    name = unquote(request.headers.get(NAME_HEADER, ""), errors="replace")
    view = await hearth().files.upload(me(), name, request.body, length=request.content_length)
    return view, 201


@blueprint.get("/files/<int:file_id>")
@login_required
@openapi.binary_response
@tag_files
async def download(file_id: int) -> Response:
    """A file's bytes, for its uploader and the members of chats it was posted in. Pictures,
    video and audio are shown inline (with Range requests); anything else is a download."""
    return await _send(await hearth().files.served(me(), file_id))


@blueprint.get("/files/<int:file_id>/thumb")
@login_required
@openapi.binary_response
@tag_files
async def thumbnail(file_id: int) -> Response:
    """A picture's or video's thumbnail (WebP, at most 480 px a side)."""
    return await _send(await hearth().files.served(me(), file_id, thumb=True))


@blueprint.get("/chats/<int:chat_id>/media")
@login_required
@validate_querystring(MediaQuery)
@validate_response(MediaPageOut)
@tag_files
async def gallery(chat_id: int, query_args: MediaQuery) -> MediaPageOut:
    """A chat's attachments of one kind (media: pictures and video; voice: recordings;
    files: the rest), newest first; pass `next` as `before` for older ones."""
    return await hearth().files.gallery(
        me(), chat_id, query_args.kind, before=query_args.before, limit=query_args.limit
    )


def content_disposition(kind: str, name: str) -> str:
    """RFC 6266 with an RFC 5987 `filename*` for the real name, and a plain ASCII stand-in
    for old clients (no quotes, backslashes or control characters)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_" for c in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def _send(served: Served) -> Response:
    try:
        body = FileBody(served.path, buffer_size=SEND_CHUNK)
    except FileNotFoundError:  # the row is there but not the bytes (removed by hand)
        raise file_not_found() from None
    response = Response(body, mimetype=served.type)
    response.set_etag(served.etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Accept-Ranges"] = "bytes"  # players seek with Range requests
    disposition = "inline" if served.inline else "attachment"
    response.headers["Content-Disposition"] = content_disposition(disposition, served.name)
    if request.if_none_match.contains(served.etag):
        response.status_code = 304
        response.set_data(b"")
        del response.content_length
        return response
    await _ranged(response, body, served.etag)
    return response


async def _ranged(response: Response, body: FileBody, etag: str) -> None:
    """Answer one byte range with 206 (what players ask for to seek); several ranges, or an
    If-Range for other bytes, get the whole file."""
    wanted = request.range
    if wanted is None or len(wanted.ranges) != 1 or request.method != "GET":
        return
    if_range = request.if_range
    if if_range.etag is not None and if_range.etag != etag:
        return
    span = wanted.range_for_length(body.size)
    if span is None:
        raise RequestedRangeNotSatisfiable(length=body.size)
    start, stop = span
    await body.make_conditional(start, stop)
    response.status_code = 206
    response.content_range = ContentRange("bytes", start, stop, body.size)
    response.content_length = stop - start
