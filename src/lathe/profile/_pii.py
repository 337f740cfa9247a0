"""Personal data: which columns hold emails, phone numbers, card numbers, IBANs, national ids,
IP addresses, person names or addresses, judged by the column's name and a sample of its values.

The sample is read to decide and then dropped: no value is kept in the profile.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MIN_SHARE = 0.6  # of the sampled values that must look like the kind
NAME_HINT_SHARE = 0.3  # enough when the column's name says the same
# Kinds whose look alone proves too little ("New York" looks like a person's name): the
# column's name must say so too.
NEEDS_NAME = {"person"}

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
_NAME_HINTS = {
    "person": re.compile(r"(^|_)(name|first_?name|last_?name|full_?name|surname|given_?name)$", re.I),
    "address": re.compile(r"(^|_)(address|street|addr|address_line\d?)$", re.I),
    "phone": re.compile(r"(^|_)(phone|mobile|tel|telephone)(_?number)?$", re.I),
    "email": re.compile(r"(^|_)e?mail(_?address)?$", re.I),
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
    for kind, looks_like in _KINDS:
        count = sum(1 for v in present if looks_like(v))
        share = count / len(present)
        hinted = kind in _NAME_HINTS and _NAME_HINTS[kind].search(name) is not None
        if kind in NEEDS_NAME and not hinted:
            continue
        if share >= MIN_SHARE or (hinted and share >= NAME_HINT_SHARE):
            confidence = min(1.0, share + (0.2 if hinted else 0.0))
            if best is None or confidence > best.confidence:
                best = PersonalData(kind, round(confidence, 3), count)
    return best


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


_KINDS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("email", lambda v: bool(_EMAIL.match(v))),
    ("card number", _luhn_card),
    ("IBAN", _iban),
    ("national id", lambda v: bool(_SSN.match(v))),
    ("IP address", _ip),
    ("phone", _phone),
    ("person", lambda v: bool(_PERSON.match(v))),
    ("address", lambda v: bool(_ADDRESS.search(v))),
)
