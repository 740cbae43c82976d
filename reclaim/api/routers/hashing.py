"""Fingerprinting an upload. The bytes are hashed in memory and dropped; nothing is kept."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as FormFile

from reclaim.api.auth import Hashing, Service
from reclaim.api.schemas import ErrorBody, ErrorDetail, Fingerprint
from reclaim.hashing.files import FileFingerprint, FingerprintOptions, fingerprint_data

router = APIRouter(prefix="/v1", tags=["hashing"])

Upload = Annotated[UploadFile, File(description="An image file.")]


async def fingerprint_upload(upload: FormFile, options: FingerprintOptions) -> FileFingerprint:
    """Read an upload (Starlette spools bodies over 1 MiB to a temporary file, deleted when
    the request ends) and fingerprint its bytes; a file that cannot be fingerprinted is
    refused with the reason (413, 415 or 422)."""
    source = upload.filename or "upload"
    data = await upload.read(options.limits.max_file_bytes + 1)
    await upload.close()
    return await run_in_threadpool(fingerprint_data, data, source, options)


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
        error=ErrorDetail(**result.error) if result.error else None,
    )


@router.post(
    "/hash",
    summary="Fingerprint an uploaded file (the file is not kept)",
    responses={
        415: {"model": ErrorBody, "description": "A file in a format Reclaim does not decode."},
        422: {"model": ErrorBody, "description": "No file, or a corrupt or empty one."},
    },
)
async def hash_upload(file: Upload, state: Service, principal: Hashing) -> Fingerprint:
    return fingerprint_public(await fingerprint_upload(file, state.options))
