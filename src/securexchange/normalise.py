"""Normalisation of raw master values: phone numbers, e-mail addresses, postcodes, dates.

Phone numbers go to E.164 with ``phonenumbers`` (region BE) and e-mail addresses are
checked with ``email-validator`` (syntax only; no DNS). Both libraries cost ~25 µs a
value, which for 100,000 rows would be most of an intake. Two things keep it fast
without giving up the libraries' rules:

* results are cached by value (a master repeats numbers and addresses in families);
* the commonest shapes take a fast path that is derived from the same rules: a Belgian
  mobile number is recognised with the mobile pattern taken from phonenumbers' own BE
  metadata, and a plain ASCII address with a pattern that email-validator accepts
  unchanged apart from lower-casing the domain. Anything else goes through the library.
  ``tests/test_intake.py`` checks with hypothesis that both paths agree.

Failures raise :class:`ValueError` with a reason of our own: the libraries' messages
quote the input and must never reach a user.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from securexchange import municipalities
from securexchange.ids import is_nis_code

_PHONE_SEPARATORS = re.compile(r"[ .()/\-\u00a0]")
_DIGITS = re.compile(r"\+?[0-9]+")
_POSTCODE = re.compile(r"[1-9][0-9]{3}")
# A plain address: ASCII letters, digits and . _ + - in the local part (no leading,
# trailing or double dot), LDH domain labels and an alphabetic top-level domain.
_PLAIN_EMAIL = re.compile(
    r"(?=[^@]{1,64}@)[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
_DATE_PATTERNS = (
    (re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"), (1, 2, 3)),
    (re.compile(r"([0-9]{1,2})[/.\-]([0-9]{1,2})[/.\-]([0-9]{4})"), (3, 2, 1)),
)


@cache
def _be_mobile() -> re.Pattern[str]:
    from phonenumbers.phonemetadata import PhoneMetadata

    metadata = PhoneMetadata.metadata_for_region("BE")
    if metadata is None or metadata.mobile is None:  # pragma: no cover - library data
        raise RuntimeError("phonenumbers has no Belgian metadata")
    return re.compile(str(metadata.mobile.national_number_pattern))


def phone_fast(text: str) -> str | None:
    """E.164 for a Belgian mobile number in a common notation, or None (undecided)."""
    compact = _PHONE_SEPARATORS.sub("", text)
    if not _DIGITS.fullmatch(compact):
        return None
    if compact.startswith("+32"):
        national = compact[3:]
    elif compact.startswith("0032"):
        national = compact[4:]
    elif compact.startswith("0"):
        national = compact[1:]
    else:
        national = compact  # a number cell that lost its leading zero
    if _be_mobile().fullmatch(national):
        return "+32" + national
    return None


def phone_library(text: str) -> str:
    """E.164 through phonenumbers (region BE); ValueError when it is not a valid number."""
    import phonenumbers

    try:
        number = phonenumbers.parse(text, "BE")
    except phonenumbers.NumberParseException:
        raise ValueError("is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


@dataclass(frozen=True)
class _Refused:
    """A remembered refusal, with its reason: a value refused again gives the same
    reason as the first time (which must not depend on what was read before)."""

    reason: str


_phone_cache: dict[str, str | _Refused] = {}
_email_cache: dict[str, str | _Refused] = {}
_CACHE_MAX = 1 << 18


def _remember(cache_: dict[str, str | _Refused], key: str, value: str | _Refused) -> None:
    if len(cache_) >= _CACHE_MAX:
        cache_.clear()  # bounded memory; a cache miss costs only time
    cache_[key] = value


def phone(text: str) -> str:
    """The E.164 form of a phone number typed in Belgium; ValueError if invalid."""
    return _normalised(_phone_cache, text, phone_fast, phone_library)


def email_fast(text: str) -> str | None:
    """The normalised form of a plain ASCII address, or None (undecided)."""
    match = _PLAIN_EMAIL.fullmatch(text)
    if match is None or len(text) > 254:
        return None
    domain = _plain_domain(match.group(1))
    if domain is None:
        return None
    _, mailboxes = _library_lists()
    if text[: match.start(1) - 1].lower() in mailboxes:
        return None  # "WWW@", "Postmaster@": the library lowercases these local parts
    return text[: match.start(1)] + domain


def _plain_domain(typed: str) -> str | None:
    """The lower-cased domain of a plain address, or None when the library decides (an
    address's domain is one of few: each verdict is remembered)."""
    if typed in _domain_cache:
        return _domain_cache[typed]
    lowered = typed.lower()
    specials, _ = _library_lists()
    labels = lowered.split(".")
    domain: str | None = lowered
    if len(lowered) > 253 or "--" in lowered:
        domain = None  # "--" may be an IDNA label ("xn--"): the library decides
    elif any(".".join(labels[i:]) in specials for i in range(len(labels))):
        domain = None  # a special-use domain or one under it: the library's verdict
    if len(_domain_cache) >= _CACHE_MAX:
        _domain_cache.clear()
    _domain_cache[typed] = domain
    return domain


_domain_cache: dict[str, str | None] = {}


@cache
def _library_lists() -> tuple[frozenset[str], frozenset[str]]:
    """email-validator's special-use domains and case-insensitive mailbox names."""
    from email_validator import SPECIAL_USE_DOMAIN_NAMES
    from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

    return frozenset(SPECIAL_USE_DOMAIN_NAMES), frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


def email_library(text: str) -> str:
    """email-validator's normalised form (no DNS); ValueError when invalid."""
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError("is not a valid e-mail address") from None
    return str(result.normalized)


def email(text: str) -> str:
    """A checked, normalised e-mail address; ValueError if invalid."""
    return _normalised(_email_cache, text, email_fast, email_library)


def _normalised(
    cache_: dict[str, str | _Refused],
    text: str,
    fast: Callable[[str], str | None],
    library: Callable[[str], str],
) -> str:
    """``text`` normalised by the fast path, else by the library, remembering both
    verdicts (a refusal is remembered with its reason and raises it again)."""
    cached = cache_.get(text)
    if cached is not None:
        if isinstance(cached, _Refused):
            raise ValueError(cached.reason)
        return cached
    result = fast(text)
    if result is None:
        try:
            result = library(text)
        except ValueError as exc:
            _remember(cache_, text, _Refused(str(exc)))
            raise
    _remember(cache_, text, result)
    return result


def postcode(text: str) -> str:
    """A Belgian postcode: 4 digits, 1000-9999. (bpost's full list is not shipped.)"""
    if not _POSTCODE.fullmatch(text):
        raise ValueError("is not a Belgian postcode (4 digits, 1000-9999)")
    return text


def nis_code(text: str) -> str:
    """A NIS code of a current Flemish or Brussels municipality."""
    if not is_nis_code(text):
        raise ValueError("is not a 5-digit NIS code")
    if not municipalities.is_known(text):
        raise ValueError("is not the NIS code of a Flemish or Brussels municipality")
    return text


# Plausible certificate dates: the integration trajectory exists since 2004.
EARLIEST_CERTIFICATE = date(2000, 1, 1)
LATEST_CERTIFICATE = date(2100, 12, 31)


def certificate_date(value: object) -> date:
    """A certificate date from a date cell or text (ISO or Belgian d/m/yyyy)."""
    if isinstance(value, datetime):
        result = value.date()
    elif isinstance(value, date):
        result = value
    elif isinstance(value, str):
        for pattern, (y, m, d) in _DATE_PATTERNS:
            match = pattern.fullmatch(value)
            if match:
                try:
                    result = date(int(match.group(y)), int(match.group(m)), int(match.group(d)))
                except ValueError:
                    raise ValueError("is not a valid date") from None
                break
        else:
            raise ValueError("is not a date (use YYYY-MM-DD or DD/MM/YYYY)")
    else:
        raise ValueError("is not a date")
    if not EARLIEST_CERTIFICATE <= result <= LATEST_CERTIFICATE:
        raise ValueError("is not a plausible certificate date")
    return result


def clear_caches() -> None:
    """Forget cached phone and e-mail results (benchmarks measure cold runs)."""
    _phone_cache.clear()
    _email_cache.clear()
    _domain_cache.clear()
