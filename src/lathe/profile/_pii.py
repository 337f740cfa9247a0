"""Personal data: which columns hold emails, phone numbers, card numbers, IBANs, national ids,
IP addresses, person names or addresses, judged by the column's name and a sample of its values.

Numbers are judged as the digits they are written with (``written``): a card number read as an
integer, a float with no fraction or a decimal is the same card number as its text. The sample is
read to decide and then dropped: no value is kept in the profile.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MIN_SHARE = 0.6  # of the sampled values that must look like the kind
NAME_HINT_SHARE = 0.3  # enough when the column's name says the same
# A number column holds personal data only where its largest value has this many digits at least
# (a US SSN from 001-01-0001 on): smaller ones are not read.
SMALLEST_ID = 1_000_000

_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
_PHONE = re.compile(r"^\+?[\d ()./-]{7,20}$")
_CARD = re.compile(r"^(?:\d[ -]?){13,19}$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9 ]{11,32}$")
_DATE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|^\d{1,2}[-/.]\d{1,2}[-/.]\d{4}$")
_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_IPV4 = re.compile(r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$")
_IPV6 = re.compile(r"^[0-9a-fA-F:]{2,39}$")
_PERSON = re.compile(r"^[A-Z][a-z'\u2019-]+( [A-Z][a-z'\u2019-]+){1,3}$")
_ADDRESS = re.compile(r"\d+\w* [\w .'-]+ (street|st|road|rd|avenue|ave|lane|ln|way|straat|weg|laan|plein)\b", re.I)
_DIGITS = re.compile(r"^\d+$")
_NAME_HINTS = {
    "person": re.compile(r"(^|_)(name|first_?name|last_?name|full_?name|surname|given_?name)$", re.I),
    "address": re.compile(r"(^|_)(address|street|addr|address_line\d?)$", re.I),
    "phone": re.compile(r"(^|_)(phone|mobile|cell|tel|telephone|fax)(_?(number|no|nr))?$", re.I),
    "email": re.compile(r"(^|_)e?mail(_?address)?$", re.I),
    "national id": re.compile(
        r"(^|_)(ssn|social_?security(_?(number|no|nr))?|national_?id|tax_?id|tin|nin|bsn)$", re.I
    ),
}


@dataclass(frozen=True)
class PersonalData:
    """What kind of personal data a column holds, how sure the guess is, and how many values showed it."""

    kind: str
    confidence: float
    count: int


def detect_personal_data(name: str, values: Sequence[str]) -> PersonalData | None:
    """The strongest kind of personal data that ``values`` (a sample of one column) look like."""
    present = [v.strip() for v in values if v and v.strip()]
    if not present:
        return None
    best: PersonalData | None = None
    for kind, looks in _KINDS:
        hinted = kind in _NAME_HINTS and _NAME_HINTS[kind].search(name) is not None
        checks = [looks_like for looks_like, needs_name in looks if hinted or not needs_name]
        if not checks:
            continue
        count = sum(1 for v in present if any(looks_like(v) for looks_like in checks))
        share = count / len(present)
        if share >= MIN_SHARE or (hinted and share >= NAME_HINT_SHARE):
            confidence = min(1.0, share + (0.2 if hinted else 0.0))
            if best is None or confidence > best.confidence:
                best = PersonalData(kind, round(confidence, 3), count)
    return best


def written(value: Any) -> str | None:
    """``value`` as the text it would be written as: a whole number (an integer, a float with no
    fraction, a decimal) as its digits, anything else as ``str`` gives it; ``None`` when missing."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        try:
            whole = int(value)
        except (ValueError, OverflowError):  # NaN, infinity
            return None
        if whole == value:
            return str(whole)
    return str(value)


def _ssn_digits(text: str) -> bool:
    """Nine digits (fewer where leading zeros were lost to a number type) shaped as a US SSN:
    area not 000, 666 or 9xx, group not 00, serial not 0000."""
    if not _DIGITS.match(text) or len(text) > 9:
        return False
    padded = text.zfill(9)
    area, group, serial = padded[:3], padded[3:5], padded[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _phone_digits(text: str) -> bool:
    """10 to 15 bare digits (a leading zero may have been lost to a number type: 9 then)."""
    return bool(_DIGITS.match(text)) and 9 <= len(text) <= 15


def _luhn(text: str) -> bool:
    digits = [int(d) for d in re.sub(r"\D", "", text)]
    checksum = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
    return len(digits) >= 13 and checksum % 10 == 0


def _iban(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if not _IBAN.match(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _phone(text: str) -> bool:
    written_as_phone = any(ch in "+ ()-./" for ch in text)  # a bare run of digits is more often a code
    digits = sum(ch.isdigit() for ch in text)
    plausible = written_as_phone and 7 <= digits <= 15 and not _DATE.match(text)
    return plausible and bool(_PHONE.match(text)) and not _luhn_card(text)


def _luhn_card(text: str) -> bool:
    return bool(_CARD.match(text)) and _luhn(text)


def _ip(text: str) -> bool:
    return bool(_IPV4.match(text)) or (text.count(":") >= 2 and bool(_IPV6.match(text)))


# Each kind with its checks, and whether a check counts only where the column's name says the
# same: a bare run of nine digits is an SSN only in a column named like one ("New York" is a
# person's name only in a column named so).
_KINDS: tuple[tuple[str, tuple[tuple[Callable[[str], bool], bool], ...]], ...] = (
    ("email", ((lambda v: bool(_EMAIL.match(v)), False),)),
    ("card number", ((_luhn_card, False),)),
    ("IBAN", ((_iban, False),)),
    ("national id", ((lambda v: bool(_SSN.match(v)), False), (_ssn_digits, True))),
    ("IP address", ((_ip, False),)),
    ("phone", ((_phone, False), (_phone_digits, True))),
    ("person", ((lambda v: bool(_PERSON.match(v)), True),)),
    ("address", ((lambda v: bool(_ADDRESS.search(v)), False),)),
)
