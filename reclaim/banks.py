"""Bank services: creating and sharing banks, filling them from files, hash lists and
API calls, listing, exporting and withdrawing their signals — each change audited.

An import is checked whole before anything is stored, and stored in one transaction:
the bank afterwards holds the whole file or is as it was. ``principal`` is the calling
organisation's key over the API; ``None`` means the command line, which acts on every
bank.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TextIO

from sqlalchemy.orm import Session

from reclaim.errors import HashFormatError, PermissionDenied, UnknownBankError
from reclaim.hashing.base import PAYLOAD_TYPES, SignalType, normalise_signal
from reclaim.hashing.files import FileFingerprint, FingerprintOptions, fingerprint_file
from reclaim.hashlists import decode_payload, encode_payload, parse_hash_list, signals_of_record
from reclaim.keys import Principal
from reclaim.store import (
    BankRepository,
    NewSignal,
    SignalRepository,
    SignalStatus,
    Store,
    holds_live_payload,
    payload_digest,
)
from reclaim.store.audit import AuditRepository
from reclaim.store.models import Bank, OrganisationKind, Signal
from reclaim.store.organisations import OrganisationRepository

_SHARING_KIND: Final = OrganisationKind.SUPPORT_CENTRE.value


def local_actor() -> str:
    """How the audit log names someone using the command line on this machine."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = str(os.getuid())
    return f"cli:{user}"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did."""

    bank: str
    lines: int
    signals: int
    added: int
    duplicates: int
    skipped_low_quality: int


@dataclass(frozen=True, slots=True)
class BankView:
    """A bank as its readers see it."""

    name: str
    kind: str
    description: str
    enabled: bool
    owner: str | None
    shared_with: list[str]
    created_at: datetime
    updated_at: datetime
    signals: dict[str, dict[str, int]] | None = None


@dataclass(frozen=True, slots=True)
class SignalView:
    """A signal as its reader sees it: ``source`` (a file name or path on the curator's
    side) only for those who curate the bank."""

    id: int
    type: str
    value: str
    quality: int | None
    source: str | None
    status: str
    seq: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, signal: Signal, curator: bool) -> SignalView:
        return cls(
            signal.id, signal.type, signal.value, signal.quality,
            signal.source if curator else None, signal.status, signal.seq,
            signal.created_at, signal.updated_at,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ExportChange:
    """A changed signal as a partner mirroring the bank applies it. ``payload`` (base64)
    only for an active keypoints, vpdq or video_regions signal: any other status tells
    the partner to delete."""

    id: int
    type: str
    value: str
    quality: int | None
    status: str
    seq: int
    updated_at: datetime
    payload: str | None = None


@dataclass(frozen=True, slots=True)
class AddReport:
    """What adding signals over the API did; ``errors`` names each refused item by index."""

    added: int
    duplicates: int
    signals: list[dict[str, Any]]
    errors: list[dict[str, Any]] = field(default_factory=list)


# --- who may see and change a bank -------------------------------------------------------


def bank_for(session: Session, name: str, principal: Principal | None, write: bool) -> Bank:
    """The bank ``name`` if the caller may read it (or change it, with ``write``). A bank the
    caller may not see is reported as unknown, so its existence is not revealed."""
    bank = BankRepository(session).bank_get(name)
    if principal is None or principal.is_admin or bank.owner_id == principal.organisation_id:
        return bank
    shared = OrganisationRepository(session).share_names([bank.id])[bank.id]
    if principal.organisation not in shared:
        raise UnknownBankError(f"no bank named {name!r}")
    if write:
        raise PermissionDenied(f"bank {name!r} is shared with you; only its owner may change it")
    return bank


def curates(principal: Principal | None, bank: Bank) -> bool:
    """Whether the caller curates the bank: its owner, an admin, or the command line."""
    return principal is None or principal.is_admin or bank.owner_id == principal.organisation_id


def _views(
    session: Session,
    banks: Sequence[Bank],
    principal: Principal | None,
    counts: bool = False,
) -> list[BankView]:
    """Banks as the caller may see them: whom a bank is shared with is the curator's
    business, so other organisations see an empty list."""
    organisations = OrganisationRepository(session)
    shares = organisations.share_names([b.id for b in banks])
    owners = organisations.organisation_names([b.owner_id for b in banks if b.owner_id])
    repository = BankRepository(session)
    return [
        BankView(
            b.name,
            b.kind,
            b.description,
            b.enabled,
            owners.get(b.owner_id) if b.owner_id else None,
            shares[b.id] if curates(principal, b) else [],
            b.created_at,
            b.updated_at,
            repository.bank_counts(b) if counts else None,
        )
        for b in banks
    ]


def list_banks(store: Store, principal: Principal | None = None) -> list[BankView]:
    with store.read() as session:
        banks = BankRepository(session).bank_list()
        if principal is not None and not principal.is_admin:
            shares = OrganisationRepository(session).share_names([b.id for b in banks])
            banks = [
                b
                for b in banks
                if b.owner_id == principal.organisation_id or principal.organisation in shares[b.id]
            ]
        return _views(session, banks, principal)


def get_bank(store: Store, name: str, principal: Principal | None = None) -> BankView:
    with store.read() as session:
        bank = bank_for(session, name, principal, write=False)
        return _views(session, [bank], principal, counts=True)[0]


def create_bank(
    store: Store,
    name: str,
    kind: str,
    description: str = "",
    *,
    shared_with: Sequence[str] = (),
    principal: Principal | None = None,
    actor: str | None = None,
) -> BankView:
    """Create a bank, owned by the caller's organisation (none from the command line)."""
    with store.write() as session:
        bank = BankRepository(session).bank_create(name, kind, description)
        bank.owner_id = principal.organisation_id if principal else None
        _share(session, bank, shared_with, principal)
        AuditRepository(session).audit_append(
            _actor(principal, actor),
            "bank.create",
            f"bank:{bank.name}",
            {"kind": bank.kind, "shared_with": sorted(set(shared_with))},
        )
        return _views(session, [bank], principal, counts=True)[0]


def update_bank(
    store: Store,
    name: str,
    *,
    description: str | None = None,
    enabled: bool | None = None,
    shared_with: Sequence[str] | None = None,
    principal: Principal | None = None,
    actor: str | None = None,
) -> BankView:
    """Change a bank's description, whether it matches, or whom it is shared with."""
    with store.write() as session:
        bank = bank_for(session, name, principal, write=True)
        changes: dict[str, Any] = {}
        if description is not None:
            bank.description = changes["description"] = description
        if enabled is not None:
            bank.enabled = changes["enabled"] = enabled
        if shared_with is not None:
            _share(session, bank, shared_with, principal)
            changes["shared_with"] = sorted(set(shared_with))
        session.flush()
        AuditRepository(session).audit_append(
            _actor(principal, actor), "bank.update", f"bank:{bank.name}", changes
        )
        return _views(session, [bank], principal, counts=True)[0]


def _share(session: Session, bank: Bank, names: Sequence[str], principal: Principal | None) -> None:
    """Share the bank with exactly these organisations. Only support centres and operators
    share: a shared bank's hashes reach the other organisation's matches, so a platform
    cannot push its hashes into another platform's results."""
    if names and principal is not None and not _may_share(principal):
        raise PermissionDenied("only support centres and operators may share banks")
    organisations = OrganisationRepository(session)
    organisations.share_set(bank, [organisations.organisation_get(n) for n in names])


def _may_share(principal: Principal) -> bool:
    return principal.is_admin or principal.organisation_kind == _SHARING_KIND


def _actor(principal: Principal | None, actor: str | None) -> str:
    if actor:
        return actor
    return principal.actor if principal else local_actor()


# --- signals over the API ---------------------------------------------------------------


def add_signals(
    store: Store,
    name: str,
    items: Sequence[dict[str, Any]],
    min_quality: int,
    principal: Principal | None = None,
) -> AddReport:
    """Store signals sent as ``{"type", "value", "quality"?, "source"?, "payload"?}`` items
    (``payload``: a keypoints signal's local features, a vpdq signal's frames as vPDQ's
    JSON list, or a video_regions signal's region hashes, in base64; the value is its
    SHA-256). Bad items are reported by index and skipped; the good ones are stored
    together."""
    accepted: list[NewSignal] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            accepted.append(new_signal(item, min_quality))
        except HashFormatError as exc:
            errors.append({"index": index, **exc.to_dict()})
    unique = list(dict.fromkeys(accepted))
    with store.write() as session:
        bank = bank_for(session, name, principal, write=True)
        repository = SignalRepository(session)
        added = repository.signal_add_many(bank.id, unique)
        ids = repository.signal_ids(bank.id, unique)
        AuditRepository(session).audit_append(
            _actor(principal, None),
            "signals.add",
            f"bank:{bank.name}",
            {"added": added, "refused": len(errors)},
        )
    stored = [{"type": s.type, "value": s.value, "id": ids[(s.type, s.value)]} for s in unique]
    return AddReport(added, len(unique) - added, stored, errors)


_PAYLOAD_OF: Final = {
    SignalType.KEYPOINTS: "local features",
    SignalType.VPDQ: "the video's frames as vPDQ's JSON list, in its canonical form",
    SignalType.VIDEO_REGIONS: "the video's frames' region hashes, as reclaim hash writes them",
}


def new_signal(item: dict[str, Any], min_quality: int) -> NewSignal:
    """One ``{type, value, quality?, source?, payload?}`` item as a signal to store; a
    ``HashFormatError`` names what is wrong with it."""
    kind, value = normalise_signal(str(item.get("type")), str(item.get("value", "")))
    quality = item.get("quality")
    if kind is SignalType.PDQ and quality is not None and quality < min_quality:
        raise HashFormatError(
            f"pdq quality {quality} is below the minimum of {min_quality}: not trusted for matching"
        )
    source = item.get("source")
    encoded = item.get("payload")
    payload = None
    if kind in PAYLOAD_TYPES:
        if encoded is None:
            raise HashFormatError(
                f"a {kind.value} signal needs its payload in base64 ({_PAYLOAD_OF[kind]})"
            )
        payload = decode_payload(encoded, "payload", kind.value)
        if payload_digest(payload) != value:
            raise HashFormatError(f"{kind.value} value is not the SHA-256 of its payload")
    elif encoded is not None:
        raise HashFormatError(
            f"only keypoints, vpdq and video_regions signals carry a payload, not {kind.value}"
        )
    quality = quality if kind is SignalType.PDQ else None
    return NewSignal(kind.value, value, quality, source, payload)


def list_signals(
    store: Store, name: str, after: int, limit: int, principal: Principal | None = None
) -> list[SignalView]:
    """A page of a bank's signals in id order (a read of case data: audited)."""
    with store.write() as session:
        bank = bank_for(session, name, principal, write=False)
        curator = curates(principal, bank)
        page = [
            SignalView.of(s, curator)
            for s in SignalRepository(session).signal_page(bank.id, after, limit)
        ]
        AuditRepository(session).audit_append(
            _actor(principal, None),
            "signals.read",
            f"bank:{bank.name}",
            {"after": after, "rows": len(page)},
        )
        return page


def export_changes(
    store: Store, name: str, since: int, limit: int, principal: Principal | None = None
) -> list[ExportChange]:
    """Signals changed after ``since`` (withdrawals included), oldest change first."""
    with store.write() as session:
        bank = bank_for(session, name, principal, write=False)
        repository = SignalRepository(session)
        page = repository.signal_changes(bank.id, since, limit)
        payloads = repository.signal_payloads(
            [s.id for s in page if holds_live_payload(s.type, s.status)]
        )
        AuditRepository(session).audit_append(
            _actor(principal, None),
            "bank.export",
            f"bank:{bank.name}",
            {"since": since, "rows": len(page)},
        )
        return [
            ExportChange(
                s.id, s.type, s.value, s.quality, s.status, s.seq, s.updated_at,
                encode_payload(payloads[s.id]) if s.id in payloads else None,
            )
            for s in page
        ]  # fmt: skip


def withdraw_signal(
    store: Store, name: str, ident: int, principal: Principal | None = None
) -> SignalView:
    """Withdraw one signal. Withdrawing it again changes nothing (no new change number, so
    partners do not see it twice)."""
    with store.write() as session:
        bank = bank_for(session, name, principal, write=True)
        repository = SignalRepository(session)
        if repository.signal_of_bank(bank.id, ident).status == SignalStatus.WITHDRAWN.value:
            return SignalView.of(repository.signal_of_bank(bank.id, ident), curator=True)
        repository.signal_set_status(bank.id, [ident], SignalStatus.WITHDRAWN)
        AuditRepository(session).audit_append(
            _actor(principal, None), "signal.withdraw", f"bank:{bank.name}/signal:{ident}"
        )
        signal = repository.signal_of_bank(bank.id, ident)
        session.refresh(signal)
        return SignalView.of(signal, curator=True)


# --- files and hash lists (the command line) ---------------------------------------------


def import_hash_list(
    store: Store,
    bank_name: str,
    stream: TextIO,
    source_name: str,
    min_quality: int,
    *,
    actor: str | None = None,
) -> ImportReport:
    """Import a hash list into a bank, whole or not at all."""
    signals, lines, low = parse_hash_list(stream, source_name, min_quality)
    unique = list(dict.fromkeys(signals))
    with store.write() as session:
        bank = BankRepository(session).bank_get(bank_name)
        added = SignalRepository(session).signal_add_many(bank.id, unique)
        AuditRepository(session).audit_append(
            _actor(None, actor),
            "signals.import",
            f"bank:{bank.name}",
            {"source": source_name, "added": added},
        )
    return ImportReport(bank_name, lines, len(signals), added, len(signals) - added, low)


def add_files(
    store: Store, bank_name: str, paths: Iterable[Path], options: FingerprintOptions
) -> Iterator[dict[str, Any]]:
    """Hash files and store their fingerprints (never the files); one record per file."""
    with store.read() as session:
        BankRepository(session).bank_get(bank_name)  # refuse an unknown bank up front
    for path in paths:
        result = fingerprint_file(path, options)
        yield _store_fingerprint(store, bank_name, result, options.min_quality)


def _store_fingerprint(
    store: Store, bank_name: str, result: FileFingerprint, min_quality: int
) -> dict[str, Any]:
    record: dict[str, Any] = {"path": result.path, "signals": [], "error": result.error}
    if not result.ok:
        return record
    signals, too_low = signals_of_record(result.to_record(), min_quality, source=result.path)
    with store.write() as session:
        bank = BankRepository(session).bank_get(bank_name)
        repository = SignalRepository(session)
        added = repository.signal_add_many(bank.id, signals)
        ids = repository.signal_ids(bank.id, signals)
        AuditRepository(session).audit_append(
            local_actor(), "signals.add", f"bank:{bank.name}", {"added": added}
        )
    record["signals"] = [{"type": s.type, "id": ids[(s.type, s.value)]} for s in signals]
    if result.low_quality:
        record["note"] = "PDQ quality below the minimum: its PDQ hash was not stored"
    elif too_low and result.kind == "video":
        record["note"] = "no frame reaches vPDQ's quality threshold: its frames were not stored"
    return record


def export_bank(
    store: Store, bank_name: str, *, actor: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every signal of a bank as a record, in id order (a read of case data: audited); an
    active or reviewed keypoints, vpdq or video_regions signal's record carries its
    ``payload`` in base64 (a withdrawn signal has none left)."""
    with store.write() as session:
        bank = BankRepository(session).bank_get(bank_name)
        AuditRepository(session).audit_append(
            _actor(None, actor), "bank.export", f"bank:{bank.name}"
        )
    with store.read() as session:
        for row in SignalRepository(session).signal_export(bank.id):
            record: dict[str, Any] = {
                "id": row.id,
                "type": row.type,
                "value": row.value,
                "quality": row.quality,
                "source": row.source,
                "status": row.status,
                "seq": row.seq,
                "updated_at": row.updated_at.isoformat(),
            }
            if row.payload is not None:
                record["payload"] = encode_payload(bytes(row.payload))
            yield record


def set_signal_status(
    store: Store,
    bank_name: str,
    ids: Sequence[int],
    status: SignalStatus,
    actor: str | None = None,
) -> None:
    """Withdraw (or otherwise re-status) signals of one bank; all or none."""
    with store.write() as session:
        bank = BankRepository(session).bank_get(bank_name)
        SignalRepository(session).signal_set_status(bank.id, ids, status)
        AuditRepository(session).audit_append(
            _actor(None, actor),
            f"signals.{status.value}",
            f"bank:{bank.name}",
            {"ids": sorted(set(ids))[:100], "count": len(set(ids))},
        )
