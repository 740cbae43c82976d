"""Survivors' cases: fingerprints submitted by survivors (or for them), reached with a case
number and a PIN, followed, added to and withdrawn.

A case needs no name. Its number (``RC-XXXX-XXXX-XXXX``, 60 random bits) and an 8-digit
PIN are shown once; the store keeps the PIN only as an Argon2 hash. Opening a case costs
one Argon2 check whatever happens — an unknown number is checked against a stand-in hash
— and every refusal reads the same, so a caller cannot learn whether a number exists.
Five wrong PINs in a row pause a case for 15 minutes, doubling with each further five (up
to a day); callers also limit attempts per client (``reclaim.api.limits.AttemptLimiter``).

Signals go to the survivor bank, or to the minor bank (kind ``minor``, for
child-protection handling) when the survivor says an image was taken under 18. The same
fingerprint submitted by two cases is held once and stays active while any active case
holds it. Withdrawing a case withdraws every signal no other active case holds (the
matcher drops them within its follow interval; partners' exports carry the withdrawals)
and erases the sealed contact.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from reclaim.banks import new_signal
from reclaim.errors import (
    AuthenticationError,
    BankExistsError,
    CaseWithdrawnError,
    ConfigurationError,
    HashFormatError,
    InputError,
    UnknownBankError,
    UnknownCaseError,
)
from reclaim.hashing.base import SignalType
from reclaim.keys import Principal
from reclaim.sealing import SecretKey, secret_key
from reclaim.settings import Settings
from reclaim.store import BankRepository, NewSignal, SignalRepository, SignalStatus, Store
from reclaim.store.audit import AuditRepository
from reclaim.store.cases import CaseNumberTaken, CaseRepository, MatchSummary
from reclaim.store.models import Bank, BankKind, Case, CaseStatus, utcnow
from reclaim.store.organisations import OrganisationRepository

#: Crockford's base32: no I, L, O or U, so a number read aloud or copied by hand survives.
NUMBER_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NUMBER_GROUPS: Final = 3
PIN_DIGITS: Final = 8
MAX_ITEMS: Final = 500
MAX_CONTACT_CHARS: Final = 500
FAILURES_BEFORE_PAUSE: Final = 5
FIRST_PAUSE: Final = timedelta(minutes=15)
LONGEST_PAUSE: Final = timedelta(days=1)
#: Every refusal to open a case says this, whatever the reason.
REFUSAL: Final = (
    "the case number and PIN do not open a case; check them, or wait 15 minutes if you "
    "tried several times"
)
_LOOK_ALIKES: Final = str.maketrans("OIL", "011")
_CONTACT_PURPOSE: Final = "case contact"
_hasher = PasswordHasher()
_stand_in_lock = threading.Lock()
_stand_in: list[str] = []
#: Argon2 takes 64 MiB a run: at most two at once per process, so a burst of anonymous
#: submissions or guesses queues instead of exhausting memory.
_argon2_slots = threading.BoundedSemaphore(2)
NUMBER_DRAWS: Final = 5


@dataclass(frozen=True, slots=True)
class Representative:
    """A support centre filing a case on a survivor's behalf: the centre (its API key),
    who filed it as the centre records its staff, and how the survivor consented."""

    principal: Principal
    staff: str
    consent: str


@dataclass(frozen=True, slots=True)
class Submission:
    """Fingerprints sent for a case: the signals accepted and the items refused (each
    ``{"index", "code", "message"}``)."""

    signals: list[NewSignal]
    errors: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class CaseReceipt:
    """A case just made. ``pin`` is shown once and never stored."""

    number: str
    pin: str
    minor: bool
    added: int
    errors: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case as the survivor (or their representative) sees it."""

    number: str
    status: str
    minor: bool
    created_at: datetime
    withdrawn_at: datetime | None
    signals: dict[str, dict[str, int]]
    matches: MatchSummary
    representative: str | None = None
    contact: str | None = None
    #: Filed by a support centre: who, as the centre records its staff, and how and when
    #: the survivor consented.
    filed_by: str | None = None
    consent: str | None = None
    consent_at: datetime | None = None

    @property
    def active_signals(self) -> int:
        return sum(by.get(SignalStatus.ACTIVE.value, 0) for by in self.signals.values())

    @property
    def withdrawn_signals(self) -> int:
        return sum(by.get(SignalStatus.WITHDRAWN.value, 0) for by in self.signals.values())


@dataclass(frozen=True, slots=True)
class CaseListing:
    """A case as an operator's list shows it: no signals, no contact."""

    id: int
    number: str
    status: str
    minor: bool
    created_at: datetime
    withdrawn_at: datetime | None
    representative: str | None
    paused_until: datetime | None


@dataclass(frozen=True, slots=True)
class Addition:
    """What adding fingerprints to a case did."""

    added: int
    errors: list[dict[str, Any]] = field(default_factory=list)


# --- numbers and PINs --------------------------------------------------------------------


def new_case_number() -> str:
    groups = [
        "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(4)) for _ in range(NUMBER_GROUPS)
    ]
    return "RC-" + "-".join(groups)


def normalise_case_number(text: str) -> str | None:
    """A typed case number in canonical form (case, spaces, dashes and look-alike letters
    forgiven), or ``None`` if it cannot be one."""
    compact = "".join(text.split()).upper().replace("-", "")
    compact = compact.removeprefix("RC")
    compact = compact.translate(_LOOK_ALIKES)
    if len(compact) != 4 * NUMBER_GROUPS or any(c not in NUMBER_ALPHABET for c in compact):
        return None
    return "RC-" + "-".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def new_pin() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))


def normalise_pin(text: str) -> str | None:
    compact = "".join(text.split()).replace("-", "")
    if len(compact) != PIN_DIGITS or not (compact.isascii() and compact.isdigit()):
        return None
    return compact


def _stand_in_hash() -> str:
    """An Argon2 hash of a random PIN, checked when the number is unknown, so an unknown
    number takes as long to refuse as a wrong PIN."""
    with _stand_in_lock:
        if not _stand_in:
            _stand_in.append(_hash_pin(new_pin()))
        return _stand_in[0]


def _hash_pin(pin: str) -> str:
    with _argon2_slots:
        return _hasher.hash(pin)


def _pin_matches(pin_hash: str, pin: str) -> bool:
    try:
        with _argon2_slots:
            return _hasher.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


# --- submissions -------------------------------------------------------------------------


def parse_submission(items: Sequence[Any], min_quality: int) -> Submission:
    """Check submitted fingerprints (``{"type", "value", "quality"?, "payload"?}`` each);
    bad items are named by index and left out, the rest kept in order, once each."""
    if len(items) > MAX_ITEMS:
        raise InputError(f"a submission holds at most {MAX_ITEMS} fingerprints, not {len(items)}")
    accepted: list[NewSignal] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            signal = new_signal(_checked_item(item), min_quality)
            if signal.type == SignalType.PDQ.value:
                _check_pdq_bits(signal.value)
            accepted.append(signal)
        except (HashFormatError, InputError) as exc:
            errors.append({"index": index, **exc.to_dict()})
    return Submission(list(dict.fromkeys(accepted)), errors)


_ITEM_FIELDS: Final = frozenset({"type", "value", "quality", "payload"})
#: A PDQ hash thresholds at its median, so about half its 256 bits are set; one far from
#: that (all zeros, say) is no picture's and would match every flat image.
PDQ_BITS_RANGE: Final = (64, 192)


def _checked_item(item: object) -> dict[str, Any]:
    """An anonymous submission's item, its fields of the right kinds (a case's
    fingerprints come from anyone: nothing is taken on trust)."""
    if not isinstance(item, dict):
        raise HashFormatError("a fingerprint is an object with 'type' and 'value'")
    if "source" in item:
        raise HashFormatError("a case's fingerprints carry no source (no file names)")
    unknown = sorted(set(item) - _ITEM_FIELDS)
    if unknown:
        raise HashFormatError(f"unknown fields {unknown}: a fingerprint has {sorted(_ITEM_FIELDS)}")
    for name in ("type", "value", "payload"):
        if name in item and not isinstance(item[name], str | None):
            raise HashFormatError(f"{name} must be text")
    quality = item.get("quality")
    if quality is not None and (type(quality) is not int or not 0 <= quality <= 100):
        raise HashFormatError(f"quality must be a whole number from 0 to 100, not {quality!r}")
    return item


def _check_pdq_bits(value: str) -> None:
    bits = int(value, 16).bit_count()
    low, high = PDQ_BITS_RANGE
    if not low <= bits <= high:
        raise HashFormatError(
            f"pdq {value} has {bits} of 256 bits set: not the hash of a picture "
            f"({low} to {high} expected)"
        )


def _require_some(submission: Submission) -> None:
    if submission.signals:
        return
    if submission.errors:
        first = submission.errors[0]
        raise InputError(
            f"none of the fingerprints can be kept: item {first['index']}: {first['message']}"
        )
    raise InputError("a case needs at least one fingerprint")


# --- the service -------------------------------------------------------------------------


class CaseService:
    """Cases over one store, with the names of the banks they fill."""

    def __init__(
        self,
        store: Store,
        key: SecretKey | Callable[[], SecretKey],
        *,
        survivor_bank: str,
        minor_bank: str,
        min_quality: int,
    ) -> None:
        """``key`` seals contacts; a function giving it is called when a contact is first
        sealed or read."""
        self.store = store
        self._key = key
        self.survivor_bank = survivor_bank
        self.minor_bank = minor_bank
        self.min_quality = min_quality

    @classmethod
    def for_settings(
        cls, store: Store, settings: Settings, key: SecretKey | None = None
    ) -> CaseService:
        """Cases in the banks the settings name, contacts sealed with ``key`` or else the
        service's key, read when first needed (refused then if missing in production)."""
        return cls(
            store, key or (lambda: secret_key(settings)), survivor_bank=settings.survivor_bank,
            minor_bank=settings.minor_bank, min_quality=settings.pdq_min_quality,
        )  # fmt: skip

    @property
    def key(self) -> SecretKey:
        if not isinstance(self._key, SecretKey):
            self._key = self._key()
        return self._key

    def create(
        self,
        submission: Submission,
        *,
        minor: bool,
        contact: str | None = None,
        representative: Representative | None = None,
        actor: str = "portal",
    ) -> CaseReceipt:
        """Open a case holding the submitted fingerprints; its number and PIN."""
        _require_some(submission)
        sealed = self._seal_contact(contact)
        pin = new_pin()
        pin_hash = _hash_pin(pin)
        with self.store.write() as session:
            bank = self._bank(session, minor)
            case = self._new_case(session, bank, pin_hash, sealed, representative)
            added = self._store_signals(session, case, submission.signals)
            who = representative.principal.actor if representative else actor
            AuditRepository(session).audit_append(
                who,
                "case.create",
                f"case:{case.number}",
                {
                    "bank": bank.name,
                    "signals": len(submission.signals),
                    "added": added,
                    "refused": len(submission.errors),
                    "contact": sealed is not None,
                    "representative": representative.principal.organisation
                    if representative
                    else None,
                },
            )
            number = case.number
        return CaseReceipt(number, pin, minor, added, submission.errors)

    def open(self, number_text: str, pin_text: str, actor: str = "portal") -> int:
        """The id of the case this number and PIN open; ``AuthenticationError`` (always
        the same message) otherwise.

        The attempt is counted, under the case's row lock, before the PIN is checked and
        is forgiven only when it proves right, so concurrent guesses cannot slip past the
        pause. Every attempt writes an audit row and runs one Argon2 check, whether the
        number exists, is paused or is right, so none reads differently from another."""
        number, pin = normalise_case_number(number_text), normalise_pin(pin_text)
        now = utcnow()
        with self.store.write() as session:
            case = CaseRepository(session).case_by_number(number, lock=True) if number else None
            audit = AuditRepository(session)
            if case is None:
                ident, pin_hash, allowed = None, _stand_in_hash(), False
                audit.audit_append(actor, "case.attempt", "case:unknown")
            else:
                allowed = pin is not None and not _paused(case, now)
                if allowed:
                    _count_failure(case, now)
                ident, pin_hash = case.id, case.pin_hash
                audit.audit_append(
                    actor, "case.attempt", f"case:{case.number}",
                    {"attempts": case.failed_attempts, "refused_unchecked": not allowed},
                )  # fmt: skip
        right = _pin_matches(pin_hash, pin or "not a pin")
        if ident is None or not allowed or not right:
            raise AuthenticationError(REFUSAL)
        with self.store.write() as session:
            case = CaseRepository(session).case_get(ident, lock=True)
            if case is None:
                raise AuthenticationError(REFUSAL)
            case.failed_attempts, case.locked_until = 0, None
            AuditRepository(session).audit_append(actor, "case.open", f"case:{case.number}")
        return ident

    def view(self, case_id: int, *, with_contact: bool = False, actor: str = "portal") -> CaseView:
        """The case's status, as its holder may see it (each reading audited);
        ``with_contact`` unseals the contact. A withdrawn case shows every signal it sent
        as withdrawn: whether another case still holds one is that case's business."""
        with self.store.write() as session:
            repository = CaseRepository(session)
            case = _case(repository, case_id)
            AuditRepository(session).audit_append(actor, "case.read", f"case:{case.number}")
            counts = repository.case_signal_counts(case.id)
            if case.status == CaseStatus.WITHDRAWN.value:
                counts = {
                    kind: {SignalStatus.WITHDRAWN.value: sum(by.values())}
                    for kind, by in counts.items()
                }
            contact = None
            if with_contact and case.contact is not None:
                contact = self.key.unseal(case.contact, _CONTACT_PURPOSE).decode()
                AuditRepository(session).audit_append(
                    actor, "case.contact.read", f"case:{case.number}"
                )
            representative = None
            if case.representative_id is not None:
                names = OrganisationRepository(session).organisation_names([case.representative_id])
                representative = names.get(case.representative_id)
            return CaseView(
                case.number, case.status, case.minor, case.created_at, case.withdrawn_at,
                counts, repository.case_match_summary(case.id),
                representative, contact, case.representative, case.consent, case.consent_at,
            )  # fmt: skip

    def add(self, case_id: int, submission: Submission, actor: str = "portal") -> Addition:
        """Add fingerprints to an active case."""
        _require_some(submission)
        with self.store.write() as session:
            case = _case(CaseRepository(session), case_id)
            if case.status != CaseStatus.ACTIVE.value:
                raise CaseWithdrawnError(
                    f"case {case.number} is withdrawn: open a new case instead"
                )
            added = self._store_signals(session, case, submission.signals)
            AuditRepository(session).audit_append(
                actor, "case.add", f"case:{case.number}",
                {"signals": len(submission.signals), "added": added,
                 "refused": len(submission.errors)},
            )  # fmt: skip
        return Addition(added, submission.errors)

    def withdraw(self, case_id: int, actor: str = "portal") -> int:
        """Withdraw the case: its signals stop matching unless another active case holds
        them, and its contact is erased. A signal quarantined or disputed meanwhile is
        withdrawn too: the survivor's consent is gone whatever its review says. How many
        signals were withdrawn; withdrawing a withdrawn case again changes nothing."""
        with self.store.write() as session:
            repository = CaseRepository(session)
            case = _case(repository, case_id)
            if case.status == CaseStatus.WITHDRAWN.value:
                return 0
            BankRepository(session).bank_lock(case.bank_id)  # see _store_signals
            ids = repository.case_signal_ids(case.id)
            kept = repository.case_signals_held_elsewhere(case.id, ids)
            signals = SignalRepository(session)
            rows = signals.signal_rows([i for i in ids if i not in kept])
            active = [i for i, row in rows.items() if row.status != SignalStatus.WITHDRAWN.value]
            erased = 0
            if active:
                erased = signals.signal_set_status(case.bank_id, active, SignalStatus.WITHDRAWN)
            case.status, case.withdrawn_at = CaseStatus.WITHDRAWN.value, utcnow()
            case.contact = None
            AuditRepository(session).audit_append(
                actor, "case.withdraw", f"case:{case.number}",
                {"withdrawn": len(active), "kept_for_other_cases": len(kept),
                 "payloads_erased": erased},
            )  # fmt: skip
            return len(active)

    def case_for(self, number_text: str, principal: Principal) -> int:
        """The id of a case the calling support centre filed (admins: any case); an unknown
        case and another centre's read alike."""
        found = self._find(number_text)
        if found is None or not (principal.is_admin or found[1] == principal.organisation_id):
            raise UnknownCaseError(f"no case {number_text!r} filed by your organisation")
        return found[0]

    def case_id(self, number_text: str) -> int:
        """The id of any case (an operator at the command line)."""
        found = self._find(number_text)
        if found is None:
            raise UnknownCaseError(f"no case {number_text!r}")
        return found[0]

    def _find(self, number_text: str) -> tuple[int, int | None] | None:
        """The id of the case of that number and the organisation that filed it."""
        number = normalise_case_number(number_text)
        with self.store.read() as session:
            case = CaseRepository(session).case_by_number(number) if number else None
            return None if case is None else (case.id, case.representative_id)

    def listing(
        self, status: CaseStatus | None, after: int, limit: int, actor: str
    ) -> list[CaseListing]:
        """Cases oldest first, for an operator (the reading audited)."""
        with self.store.write() as session:
            found = CaseRepository(session).case_list(status, after, limit)
            ids = {c.representative_id for c in found if c.representative_id is not None}
            names = OrganisationRepository(session).organisation_names(sorted(ids))
            AuditRepository(session).audit_append(
                actor, "case.list", "cases",
                {"status": status.value if status else None, "after": after,
                 "count": len(found)},
            )  # fmt: skip
            now = utcnow()
            return [_listing(c, names, now) for c in found]

    # --- helpers -------------------------------------------------------------------------

    def warm(self) -> None:
        """Make the stand-in PIN hash now, at start-up: made on first use, it would make the
        first unknown number of a process slower to refuse than a wrong PIN."""
        _stand_in_hash()

    def check_banks(self) -> None:
        """Refuse, at start-up, a case bank name held by a bank of another kind (cases
        would otherwise fail one by one); banks not yet made are made on first use."""
        with self.store.read() as session:
            repository = BankRepository(session)
            for name, kind in ((self.survivor_bank, BankKind.SURVIVOR),
                               (self.minor_bank, BankKind.MINOR)):  # fmt: skip
                try:
                    bank = repository.bank_get(name)
                except UnknownBankError:
                    continue
                if bank.kind != kind.value:
                    setting = f"RECLAIM_{kind.value.upper()}_BANK"
                    raise ConfigurationError(
                        f"bank {name!r} is of kind {bank.kind!r}; survivors' cases need one "
                        f"of kind {kind.value!r}: set {setting} to another name"
                    )

    def _seal_contact(self, contact: str | None) -> bytes | None:
        text = (contact or "").strip()
        if not text:
            return None
        if len(text) > MAX_CONTACT_CHARS:
            raise InputError(f"the contact is longer than {MAX_CONTACT_CHARS} characters")
        return self.key.seal(text.encode(), _CONTACT_PURPOSE)

    def _bank(self, session: Any, minor: bool) -> Bank:
        name, kind = (
            (self.minor_bank, BankKind.MINOR) if minor else (self.survivor_bank, BankKind.SURVIVOR)
        )
        repository = BankRepository(session)
        try:
            bank = repository.bank_get(name)
        except UnknownBankError:
            try:
                bank = repository.bank_create(
                    name, kind.value, "Fingerprints submitted in survivors' cases"
                    + (" (taken under 18: child-protection handling)" if minor else ""),
                )  # fmt: skip
            except BankExistsError:  # made meanwhile by another process
                bank = repository.bank_get(name)
            else:
                AuditRepository(session).audit_append(
                    "portal", "bank.create", f"bank:{name}", {"kind": kind.value}
                )
        if bank.kind != kind.value:
            raise ConfigurationError(
                f"bank {name!r} is of kind {bank.kind!r}; cases need one of kind {kind.value!r}"
            )
        return bank

    def _new_case(
        self,
        session: Any,
        bank: Bank,
        pin_hash: str,
        contact: bytes | None,
        representative: Representative | None,
    ) -> Case:
        repository = CaseRepository(session)
        for _ in range(NUMBER_DRAWS):
            case = Case(
                number=new_case_number(), pin_hash=pin_hash, status=CaseStatus.ACTIVE.value,
                bank_id=bank.id, minor=bank.kind == BankKind.MINOR.value, contact=contact,
                failed_attempts=0,
            )  # fmt: skip
            if representative is not None:
                case.representative_id = representative.principal.organisation_id
                case.representative = representative.staff
                case.consent, case.consent_at = representative.consent, utcnow()
            try:
                return repository.case_create(case)
            except CaseNumberTaken:  # one in 2**60 per case held: draw again
                continue
        raise ConfigurationError(f"no free case number in {NUMBER_DRAWS} draws: check the store")

    def _store_signals(self, session: Any, case: Case, signals: Sequence[NewSignal]) -> int:
        """Store the case's signals in its bank and tie them to it; a signal withdrawn
        before (another case withdrawn) is made active again. How many are new to the
        case. Curators remove a fingerprint for good by quarantining it, which no case
        undoes.

        The bank's row is locked first, as in ``withdraw``: otherwise on PostgreSQL two
        cases withdrawn at once could each see the other still holding a shared signal and
        both keep it, or a withdrawal could withdraw a signal another case is submitting."""
        BankRepository(session).bank_lock(case.bank_id)
        repository = SignalRepository(session)
        repository.signal_add_many(case.bank_id, signals)
        ids = repository.signal_ids(case.bank_id, signals)
        rows = repository.signal_rows(list(ids.values()))
        revived = [i for i, row in rows.items() if row.status == SignalStatus.WITHDRAWN.value]
        if revived:
            # Their payloads went with their withdrawal: this submission brings them back.
            payloads = {(s.type, s.value): s.payload for s in signals if s.payload is not None}
            repository.signal_restore_payloads(
                {
                    i: payloads[(rows[i].type, rows[i].value)]
                    for i in revived
                    if (rows[i].type, rows[i].value) in payloads
                }
            )
            repository.signal_set_status(case.bank_id, revived, SignalStatus.ACTIVE)
        return CaseRepository(session).case_link(case.id, list(ids.values()))


def _case(repository: CaseRepository, case_id: int) -> Case:
    case = repository.case_get(case_id)
    if case is None:
        raise UnknownCaseError(f"no case with id {case_id}")
    return case


def _listing(case: Case, names: dict[int, str], now: datetime) -> CaseListing:
    return CaseListing(
        case.id, case.number, case.status, case.minor, case.created_at, case.withdrawn_at,
        names.get(case.representative_id) if case.representative_id else None,
        case.locked_until if _paused(case, now) else None,
    )  # fmt: skip


def _paused(case: Case, now: datetime) -> bool:
    return case.locked_until is not None and case.locked_until > now


def _count_failure(case: Case, now: datetime) -> None:
    """Count an attempt as failed (until it proves right); the attempt that completes a
    run of five starts the pause, so no sixth can begin meanwhile."""
    case.failed_attempts += 1
    if case.failed_attempts % FAILURES_BEFORE_PAUSE == 0:
        doublings = case.failed_attempts // FAILURES_BEFORE_PAUSE - 1
        pause = min(FIRST_PAUSE * (2 ** min(doublings, 10)), LONGEST_PAUSE)
        case.locked_until = now + pause
