"""Find and mask personal data (HKID numbers, phone numbers, e-mail addresses) in free text.

Published views are shown redacted, and a view containing personal data is never routed
without a moderator seeing it first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# HKID: one or two letters, six digits, a check digit (0-9 or A), often in brackets.
_HKID = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]{1,2})\s?(\d{6})\s?([(（])?\s?([0-9Aa])\s?[)）]?(?![A-Za-z0-9])"
)
# Hong Kong numbers: 8 digits starting 2-9, optional +852 / 852 prefix, optional separator.
_PHONE = re.compile(r"(?<![\d+])(?:\+?852[\s-]?)?[2-9]\d{3}[\s-]?\d{4}(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

PLACEHOLDERS = {"hkid": "[HKID]", "phone": "[PHONE]", "email": "[EMAIL]"}


def _hkid_check_ok(letters: str, digits: str, check: str) -> bool:
    letters = letters.upper()
    values = [36] if len(letters) == 1 else []
    values += [ord(c) - 55 for c in letters]  # A=10 ... Z=35; a space counts 36
    values += [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1)))
    remainder = total % 11
    expected = 0 if remainder == 0 else 11 - remainder
    return check.upper() == ("A" if expected == 10 else str(expected))


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int


def find_personal_data(text: str) -> list[Finding]:
    findings = [Finding("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    for m in _HKID.finditer(text):
        letters, digits, bracket, check = m.groups()
        # Written with a bracketed check digit it is an HKID even if mistyped; without the
        # bracket, only a valid check digit tells it apart from a product or case number.
        if bracket or _hkid_check_ok(letters, digits, check):
            findings.append(Finding("hkid", m.start(), m.end()))
    for m in _PHONE.finditer(text):
        findings.append(Finding("phone", m.start(), m.end()))
    # Keep the earliest, longest match where two kinds overlap (a phone inside an e-mail).
    findings.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Finding] = []
    for f in findings:
        if not kept or f.start >= kept[-1].end:
            kept.append(f)
    return kept


def redact(text: str) -> str:
    parts, last = [], 0
    for f in find_personal_data(text):
        parts += [text[last:f.start], PLACEHOLDERS[f.kind]]
        last = f.end
    parts.append(text[last:])
    return "".join(parts)
