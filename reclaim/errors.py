"""Every error Reclaim raises on purpose, in one hierarchy.

::

    ReclaimError                 anything Reclaim refuses, with a stable ``code``
    ├── UsageError               a caller asked for something impossible (CLI exit 2, HTTP 400)
    ├── ConfigurationError       settings that cannot work (refused at start-up)
    ├── AccessError              the service refuses the caller
    │   ├── AuthenticationError  no API key, or one that is unknown or revoked (HTTP 401)
    │   ├── PermissionDenied     the key lacks the scope for this request (HTTP 403)
    │   └── RateLimited          the key sent too many requests; ``retry_after`` (HTTP 429)
    ├── NotReady                 the service is still loading its indexes (HTTP 503)
    └── InputError               input that cannot be processed (HTTP 422)
        ├── HashFormatError      a fingerprint string that is not a valid hash of its type
        ├── IndexInputError      codes, ids or a radius a Hamming index cannot take
        │   └── UnknownIdError   removing an id the index does not hold
        ├── IndexFileError       a saved index that is corrupt, truncated or of another version
        ├── UnknownBankError     a bank name the store does not hold
        ├── BankExistsError      creating a bank under a name already taken
        ├── UnknownSignalError   a signal id the bank does not hold
        ├── UnknownOrganisationError an organisation name the store does not hold
        ├── UnknownCaseError     a case number the caller may not reach (HTTP 404)
        ├── CaseWithdrawnError   adding to a case already withdrawn (HTTP 409)
        ├── UnknownMatchError    a match record the caller was not told of (HTTP 404)
        ├── RequestTooLarge      a request body over the service's limit (HTTP 413)
        ├── ImportFileError      a hash list with bad lines (each named by number)
        └── MediaError           a file that cannot be fingerprinted; names the file
            ├── FileUnreadable   missing, a folder, no permission, a symlink loop
            ├── EmptyFile        zero bytes
            ├── FileTooLarge     more bytes than ``max_file_bytes``
            ├── UnsupportedFormat not an image or video in a format Reclaim decodes
            ├── CorruptMedia     truncated or malformed data the decoder refused
            ├── ImageTooLarge    absurd dimensions or more pixels than ``max_image_pixels``
            │                    (decompression bombs), refused before decoding
            ├── VideoTooLong     a video longer than the limit (HTTP 413)
            └── DecodeTimeout    a file that took longer to decode than the limit

Each class carries a ``code`` (used in JSON output and HTTP error bodies) and the HTTP
status a web client receives. The CLI maps ``UsageError`` to exit status 2 and per-item
``InputError`` to exit status 1.
"""

from __future__ import annotations

from typing import ClassVar


class ReclaimError(Exception):
    """Base of every error Reclaim raises on purpose."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """The ``{"code", "message"}`` form used by the CLI and the API."""
        return {"code": self.code, "message": self.message}


class UsageError(ReclaimError):
    """The caller asked for something that cannot be done as asked."""

    code = "usage"


class ConfigurationError(ReclaimError):
    """Settings that cannot work."""

    code = "configuration"
    http_status = 500


class AccessError(ReclaimError):
    """The service refuses the caller."""

    code = "access_denied"
    http_status = 403


class AuthenticationError(AccessError):
    code = "unauthenticated"
    http_status = 401


class PermissionDenied(AccessError):
    code = "forbidden"
    http_status = 403


class RateLimited(AccessError):
    """Too many requests; ``retry_after`` says in how many seconds to try again."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotReady(ReclaimError):
    code = "not_ready"
    http_status = 503


class InputError(ReclaimError):
    """Input data that cannot be processed."""

    code = "invalid_input"
    http_status = 422


class HashFormatError(InputError):
    """A fingerprint string that is not a valid hash of its type."""

    code = "invalid_hash"


class IndexInputError(InputError):
    """Codes, ids or a radius that a Hamming index cannot take (wrong shape, duplicates)."""

    code = "invalid_index_input"


class UnknownIdError(IndexInputError):
    """Removing an id that the index does not hold."""

    code = "unknown_id"
    http_status = 404


class IndexFileError(InputError):
    """A saved index file that is corrupt, truncated or written by another format version."""

    code = "invalid_index_file"


class UnknownBankError(InputError):
    code = "unknown_bank"
    http_status = 404


class BankExistsError(InputError):
    code = "bank_exists"
    http_status = 409


class UnknownSignalError(InputError):
    code = "unknown_signal"
    http_status = 404


class UnknownOrganisationError(InputError):
    code = "unknown_organisation"
    http_status = 404


class UnknownCaseError(InputError):
    code = "unknown_case"
    http_status = 404


class CaseWithdrawnError(InputError):
    code = "case_withdrawn"
    http_status = 409


class UnknownMatchError(InputError):
    code = "unknown_match"
    http_status = 404


class RequestTooLarge(InputError):
    code = "request_too_large"
    http_status = 413


class ImportFileError(InputError):
    """A hash list that cannot be imported; ``problems`` lists each bad line."""

    code = "invalid_import"

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


class MediaError(InputError):
    """A file that cannot be fingerprinted. The message names the file and the reason."""

    code = "media_error"

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class FileUnreadable(MediaError):
    code = "unreadable"


class EmptyFile(MediaError):
    code = "empty_file"


class FileTooLarge(MediaError):
    code = "file_too_large"
    http_status = 413


class UnsupportedFormat(MediaError):
    code = "unsupported_format"
    http_status = 415


class CorruptMedia(MediaError):
    code = "corrupt"


class ImageTooLarge(MediaError):
    code = "image_too_large"
    http_status = 413


class VideoTooLong(MediaError):
    """A video longer than the limit, by its header or by the frames it holds."""

    code = "video_too_long"
    http_status = 413


class DecodeTimeout(MediaError):
    """A file that took longer to decode than the limit allows."""

    code = "decode_timeout"
