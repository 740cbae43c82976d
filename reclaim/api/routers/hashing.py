"""Fingerprinting an upload. The bytes are hashed in memory and dropped; nothing is kept.

Uploads are parsed by hand after the key is checked, so an unauthenticated caller cannot
make the service read a large body.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from reclaim.api.auth import Hashing, Service
from reclaim.api.schemas import ErrorBody, ErrorDetail, Fingerprint
from reclaim.errors import InputError
from reclaim.hashing.files import (
    FileFingerprint,
    FingerprintOptions,
    check_size,
    fingerprint_data,
)
from reclaim.hashing.video import SECONDS_PER_HASH
from reclaim.hashlists import encode_payload

router = APIRouter(prefix="/v1", tags=["hashing"])

#: The ``seconds_per_hash`` a request may ask for: no denser than a bank's lists may be
#: (``Settings.video_register_seconds_per_hash``'s least).
MIN_SECONDS_PER_HASH: Final = 0.125
MAX_SECONDS_PER_HASH: Final = 3600.0
FILE_FIELD: dict[str, Any] = {"type": "string", "format": "binary", "description": "The file."}
_HASH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": FILE_FIELD,
                        "keypoints": {
                            "type": "boolean",
                            "default": False,
                            "description": "Also give the signals that find edited "
                            "copies, to register: an image's local features (keypoints, "
                            "base64, about 13 KB), a video's region hashes "
                            "(video_regions, base64, about 540 characters a frame).",
                        },
                        "seconds_per_hash": {
                            "type": "number",
                            "minimum": MIN_SECONDS_PER_HASH,
                            "maximum": MAX_SECONDS_PER_HASH,
                            "default": SECONDS_PER_HASH,
                            "description": "Videos: hash one frame this many seconds apart "
                            "(vPDQ's sampling is 1; to register, 0.25 as reclaim bank add "
                            "does lets uploads be matched at their key frames).",
                        },
                    },
                }
            }
        },
    }
}


async def read_form(request: Request, fields: int) -> FormData:
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("multipart/form-data"):
        raise InputError("send the file as multipart/form-data, in a field named 'file'")
    return await request.form(max_files=1, max_fields=fields)


async def upload_bytes(form: FormData, options: FingerprintOptions) -> tuple[bytes, str]:
    """The bytes and name of the form's ``file`` field (at most the largest file accepted,
    plus one byte so that a larger file is recognised)."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InputError("the form needs a 'file' field holding the file")
    data = await upload.read(options.limits.max_file_bytes + 1)
    return data, upload.filename or "upload"


async def fingerprint_upload(form: FormData, options: FingerprintOptions) -> FileFingerprint:
    """Fingerprint the uploaded file; one that cannot be decoded is refused with the reason
    (413, 415 or 422)."""
    data, source = await upload_bytes(form, options)
    check_size(data, source, options.limits)
    return await run_in_threadpool(fingerprint_data, data, source, options)


def flag_field(raw: object, name: str) -> bool:
    """A true/false form field (absent: false)."""
    if raw is None or raw == "":
        return False
    text = str(raw).strip().lower() if isinstance(raw, str) else None
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise InputError(f"'{name}' must be true or false, got {str(raw)[:40]!r}")


def fingerprint_public(result: FileFingerprint) -> Fingerprint:
    return Fingerprint(
        source=result.path,
        kind=result.kind,
        pdq=result.pdq,
        quality=result.quality,
        low_quality=result.low_quality,
        md5=result.md5,
        sha256=result.sha256,
        width=result.width,
        height=result.height,
        keypoints=encode_payload(result.keypoints) if result.keypoints else None,
        video_regions=encode_payload(result.video_regions) if result.video_regions else None,
        vpdq=[frame.to_text() for frame in result.vpdq] if result.vpdq is not None else None,
        duration=result.duration,
        frame_count=result.frame_count,
        codec=result.codec,
        error=ErrorDetail(**result.error) if result.error else None,
    )


@router.post(
    "/hash",
    summary="Fingerprint an uploaded file (the file is not kept)",
    response_model=Fingerprint,
    openapi_extra=_HASH_BODY,
    responses={
        415: {"model": ErrorBody, "description": "A file in a format Reclaim does not decode."},
        422: {"model": ErrorBody, "description": "No file, or a corrupt or empty one."},
    },
)
async def hash_upload(request: Request, state: Service, principal: Hashing) -> Fingerprint:
    form = await read_form(request, fields=4)
    try:
        keypoints = flag_field(form.get("keypoints"), "keypoints")
        seconds = _seconds_field(form.get("seconds_per_hash"))
        options = replace(state.options, keypoints=keypoints, seconds_per_hash=seconds)
        result = await fingerprint_upload(form, options)
    finally:
        await form.close()
    return fingerprint_public(result)


def _seconds_field(raw: object) -> float:
    """The ``seconds_per_hash`` form field (absent: vPDQ's one second)."""
    if raw is None or raw == "":
        return SECONDS_PER_HASH
    try:
        value = float(str(raw))
    except ValueError:
        value = math.nan
    if not MIN_SECONDS_PER_HASH <= value <= MAX_SECONDS_PER_HASH:
        raise InputError(
            f"'seconds_per_hash' must be a number of seconds from {MIN_SECONDS_PER_HASH} to "
            f"{MAX_SECONDS_PER_HASH:.0f}, got {str(raw)[:40]!r}"
        )
    return value
