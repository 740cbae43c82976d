"""The shapes the API reads and writes (``XCreate``, ``XUpdate``, ``XPublic``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from reclaim.hashlists import (
    MAX_PAYLOAD_CHARS,
    MAX_REGIONS_PAYLOAD_CHARS,
    MAX_VPDQ_PAYLOAD_CHARS,
)
from reclaim.store.models import BankKind

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
BankName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]
OrganisationName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]


def _printable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Free text without NUL characters (which PostgreSQL cannot store).
Description = Annotated[str, Field(max_length=2000), AfterValidator(_printable)]
SourceText = Annotated[str, Field(max_length=1000), AfterValidator(_printable)]


SignalTypeName = Literal["pdq", "md5", "sha256"]
# Banks also store keypoints signals (local features) and vpdq signals (a video's frames);
# matching requests do not send them: an upload is matched by its image or video.
StoredSignalTypeName = Literal["pdq", "md5", "sha256", "keypoints", "vpdq", "video_regions"]
MAX_BATCH = 1_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable error code, e.g. 'invalid_hash'.")
    message: str = Field(description="What was wrong, naming the input.")
    problems: list[str] | None = Field(None, description="Each bad item, where there are many.")


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "loading", "failed"]
    signals: int = Field(description="Active signals the matcher holds.")
    seq: int = Field(description="The last change sequence number the matcher applied.")
    synced_ago: float | None = Field(
        None, description="Seconds since the matcher last caught up with the store."
    )
    detail: str | None = None


class Me(BaseModel):
    organisation: str
    organisation_kind: str
    scopes: list[str]
    key_prefix: str


# --- banks ---------------------------------------------------------------------------


class BankCreate(Strict):
    name: BankName
    kind: BankKind = BankKind.VERIFIED
    description: Description = ""
    shared_with: list[OrganisationName] = Field(
        default_factory=list,
        max_length=100,
        description="Organisations that may match and mirror it.",
    )


class BankUpdate(Strict):
    description: Description | None = None
    enabled: bool | None = Field(None, description="Whether the bank's signals match.")
    shared_with: list[OrganisationName] | None = Field(None, max_length=100)


class BankPublic(BaseModel):
    name: str
    kind: str
    description: str
    enabled: bool
    owner: str | None = Field(description="The organisation that curates it.")
    shared_with: list[str]
    created_at: datetime
    updated_at: datetime
    signals: dict[str, dict[str, int]] | None = Field(
        None, description="Signal counts by type, then status (single-bank reads only)."
    )


class BankList(BaseModel):
    items: list[BankPublic]


# --- signals -------------------------------------------------------------------------


class SignalIn(Strict):
    type: SignalTypeName
    value: str = Field(max_length=128)


class SignalCreate(Strict):
    type: StoredSignalTypeName
    value: str = Field(
        max_length=128,
        description="The hash in hex; for keypoints, vpdq and video_regions, the SHA-256 "
        "of the payload.",
    )
    quality: int | None = Field(None, ge=0, le=100)
    source: SourceText | None = None
    payload: str | None = Field(
        None,
        max_length=max(MAX_PAYLOAD_CHARS, MAX_VPDQ_PAYLOAD_CHARS, MAX_REGIONS_PAYLOAD_CHARS),
        description="For keypoints, vpdq and video_regions only, and required there, in "
        "standard base64: the local features (reclaim hash's 'keypoints' field), a video's "
        "frames as vPDQ's JSON list (reclaim hash's 'vpdq' field, as JSON text; the value "
        "is the SHA-256 of the list in its canonical form, as exports carry it), or their "
        "region hashes (reclaim hash's 'video_regions' field, decoded).",
    )


class SignalsCreate(Strict):
    signals: list[SignalCreate] = Field(min_length=1, max_length=10_000)


class SignalRef(BaseModel):
    type: str
    value: str
    id: int


class ItemError(BaseModel):
    index: int
    code: str
    message: str


class SignalsAdded(BaseModel):
    added: int = Field(description="Signals new to the bank.")
    duplicates: int = Field(description="Signals the bank already held.")
    signals: list[SignalRef]
    errors: list[ItemError] = Field(description="Items refused, by index; the rest were stored.")


class SignalPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    value: str
    quality: int | None
    source: str | None
    status: str
    seq: int
    created_at: datetime
    updated_at: datetime


class SignalPage(BaseModel):
    items: list[SignalPublic]
    next_after: int | None = Field(
        description="Pass as ?after= for the next page; null at the end."
    )


class ExportRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    value: str
    quality: int | None
    status: str = Field(description="'withdrawn' (and any status but 'active'): delete it.")
    seq: int
    updated_at: datetime
    payload: str | None = Field(
        None,
        description="An active keypoints signal's local features, an active vpdq signal's "
        "frames (vPDQ's JSON list), or an active video_regions signal's region hashes, in "
        "standard base64 (the value is their SHA-256); null otherwise.",
    )


class ExportPage(BaseModel):
    items: list[ExportRecord]
    next_since: int = Field(description="Pass as ?since= for the next page.")
    more: bool = Field(description="Whether more changes were waiting when this page was read.")


# --- hashing and matching ------------------------------------------------------------


class Fingerprint(BaseModel):
    source: str = Field(description="The uploaded file's name.")
    kind: str | None
    pdq: str | None
    quality: int | None
    low_quality: bool | None
    md5: str | None
    sha256: str | None
    width: int | None
    height: int | None
    keypoints: str | None = Field(
        None, description="Local features to register, base64 (when asked for)."
    )
    video_regions: str | None = Field(
        None,
        description="A video's frames' region hashes to register (they find cropped and "
        "marked copies), base64 (when keypoints are asked for).",
    )
    vpdq: list[str] | None = Field(
        None,
        description="A video's sampled frames in vPDQ's form, 'pdqhex,quality,timestamp' each "
        "(videos only; one a second from /v1/hash, at the video's key frames from /v1/match "
        "when the banks' videos are registered densely enough for that).",
    )
    duration: float | None = Field(None, description="A video's length in seconds.")
    frame_count: int | None = Field(None, description="A video's frames.")
    codec: str | None = Field(None, description="A video's codec.")
    error: ErrorDetail | None


class MatchRequest(Strict):
    signals: list[SignalIn] = Field(min_length=1, max_length=64)
    banks: list[BankName] | None = Field(
        None, min_length=1, max_length=100, description="Default (null): every bank you see."
    )
    threshold: int | None = Field(
        None, ge=0, le=64, description="Largest PDQ distance (default 31)."
    )


class MatchPublic(BaseModel):
    bank: str
    bank_kind: Literal["survivor", "verified", "partner", "negative", "minor"] = Field(
        description="What the bank's hashes mean; minor: an image taken under 18, to be "
        "handled under child-protection rules (such as reporting to the national hotline)."
    )
    signal_id: int
    type: str
    distance: int = Field(
        description="PDQ bits apart; 0 for exact hashes, local features and videos."
    )
    inliers: int | None = Field(
        None, description="Local features (keypoints): corners one transform explains."
    )
    query_percent: float | None = Field(
        None,
        description="Videos (vpdq, video_regions): the share of the upload's frames that "
        "match (of its time, when it was sampled at its key frames).",
    )
    target_percent: float | None = Field(
        None,
        description="Videos (vpdq, video_regions): the share of the registered video's "
        "frames matched.",
    )


class MatchResponse(BaseModel):
    matches: list[MatchPublic]
    suppressed: bool = Field(
        description="A negative (known benign) bank matched: no matches reported."
    )
    fingerprint: Fingerprint | None = Field(
        None, description="The upload's signals (uploads only)."
    )


class BatchMatchRequest(Strict):
    signals: list[SignalIn] = Field(min_length=1, max_length=MAX_BATCH)
    banks: list[BankName] | None = Field(None, min_length=1, max_length=100)
    threshold: int | None = Field(None, ge=0, le=64)


class BatchMatchItem(BaseModel):
    index: int
    matches: list[MatchPublic]
    suppressed: bool
    error: ErrorDetail | None = None


class BatchMatchResponse(BaseModel):
    results: list[BatchMatchItem]


class MatchRecordPublic(BaseModel):
    id: int
    bank: str
    signal_id: int
    type: str
    distance: int
    created_at: datetime
    outcome: Literal["removed", "kept", "false_match"] | None = Field(
        None, description="What your organisation reported doing about the match."
    )
    outcome_at: datetime | None = None


class MatchOutcomeIn(Strict):
    outcome: Literal["removed", "kept", "false_match"] = Field(
        description="removed: taken down or blocked; kept: reviewed and left up; "
        "false_match: the fingerprints matched unrelated content. A survivor's case counts "
        "removals."
    )


class MatchRecordPage(BaseModel):
    items: list[MatchRecordPublic]
    next_after: int | None


# --- cases -------------------------------------------------------------------------------


class CaseSignalIn(Strict):
    type: StoredSignalTypeName
    value: str = Field(max_length=128)
    quality: int | None = Field(None, ge=0, le=100)
    payload: str | None = Field(
        None,
        max_length=max(MAX_PAYLOAD_CHARS, MAX_VPDQ_PAYLOAD_CHARS, MAX_REGIONS_PAYLOAD_CHARS),
        description="As for a bank's signals: base64, for keypoints, vpdq and video_regions.",
    )


class CaseCreate(Strict):
    signals: list[CaseSignalIn] = Field(min_length=1, max_length=500)
    representative: str = Field(
        min_length=1,
        max_length=128,
        description="Who at your centre files the case, as your centre records its staff.",
    )
    consent: str = Field(
        min_length=1,
        max_length=256,
        description="How the survivor consented to the filing (e.g. 'signed form, ref 2026-114').",
    )
    minor: bool = Field(
        False, description="An image was taken under 18: the signals go to the minor bank."
    )
    contact: str | None = Field(
        None, max_length=500, description="How to reach the survivor; sealed at rest."
    )


class CaseCreated(BaseModel):
    number: str
    pin: str = Field(description="Shown once; give it to the survivor. Reclaim keeps only a hash.")
    minor: bool
    added: int = Field(description="Signals tied to the case.")
    errors: list[ItemError] = Field(description="Signals refused, by index.")


class CasePublic(BaseModel):
    number: str
    status: Literal["active", "withdrawn"]
    minor: bool
    created_at: datetime
    withdrawn_at: datetime | None
    signals: dict[str, dict[str, int]] = Field(description="Signals by type, then by status.")
    matches: int = Field(description="Matches partner platforms were told of.")
    platforms: int = Field(description="Platforms told of a match.")
    last_match_at: datetime | None
    removals: int = Field(description="Matches a platform reported removing.")
    last_removal_at: datetime | None
    representative: str | None = Field(description="The support centre that filed the case.")
    filed_by: str | None = Field(None, description="Who filed it, as the centre records its staff.")
    consent: str | None = Field(None, description="How the survivor consented, as recorded.")
    consent_at: datetime | None = Field(None, description="When the consent was recorded.")
    contact: str | None = Field(
        None, description="Only with contact=true (the reading is audited)."
    )


class CaseWithdrawn(BaseModel):
    number: str
    status: Literal["withdrawn"]
    withdrawn: int = Field(description="Signals that stopped matching now.")
