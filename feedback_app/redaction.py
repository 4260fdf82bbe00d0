"""Find and mask personal data in published text: one function for views and answers alike.

`find_personal_data(text)` lists what it finds (routing holds such a view back for a
moderator); `redact(text)` returns the text with each finding replaced by its placeholder and
every other character exactly as typed. Every public page shows views and bureau answers
through the `redact` template filter. Both take `not_personal`: texts a moderator marked as
not personal data; a finding whose text equals one of them by `span_key` (NFKC, case folded,
whitespace and invisible characters removed) is left out, and shown exactly as typed.

What is masked
--------------
[HKID]    Hong Kong identity card numbers: one or two letters, six digits and a check digit,
          with or without brackets (ASCII or full-width) and spaces. With a bracketed check
          digit it counts even if mistyped; unbracketed only with a valid check digit, so
          product and case codes of the same shape survive.
[PHONE]   Hong Kong numbers: 8 digits starting 2-9, run together or 4+4 split by a space,
          hyphen, dash or dot, optionally after +852 / 852 / (852) / (+852) / 00852.
          Mainland mobiles: 1[3-9] and 9 more digits, run together or 3-4-4, optionally
          after +86 / 86 / (86) / (+86) / 0086.
[EMAIL]   e-mail addresses (except the Government's: a domain gov.hk or ending in .gov.hk is an
          official contact and stays), with Unicode local parts and domains (陳大文@例子.香港,
          chan@例子.com), full-width ＠ and ．, and the spelled-out forms
          name[at]example.com and name (at) example (dot) com.
[URL]     personal links. A link is personal when it carries user info (user@host), a query
          or fragment parameter named for personal data (name, email, phone, tel, mobile,
          hkid, address ...; see _PERSONAL_KEYS), or any phone number, HKID, e-mail or
          address anywhere in it after percent-decoding (https://wa.me/85291234567). It is
          then masked whole. Any other link (https://www.gov.hk/en/residents/?lang=en) is
          left whole, and nothing inside it is masked, so it still works.
[ADDRESS] residential and postal addresses. Parts are found: a numbered street (12 Nathan
          Road, 彌敦道123號), a flat (Flat 12B), a room (Room 1203, Unit 5, 1203室), a floor
          (15/F, 3rd Floor, 12樓), a block (Block 3, Tower 2, 3座), an estate or residential
          building (Wah Fu Estate, Sun Court, 彩虹邨, 麗晶花園) and other named buildings
          (Sun Hing Building, 金漢樓, 恒生大廈). Parts separated only by spaces or commas form
          one chain, masked whole when it holds a numbered street; a flat with any other
          part; a block with a floor; an estate with a flat, room, floor or block; or a named
          building with both a room and a floor. So "Flat 12B, 15/F, Block 3" and
          "彩虹邨金漢樓12樓1203室" are masked, while a street name alone (Nathan Road, 彌敦道),
          a floor alone (12/F), an estate name alone and "Room 1203, 12/F" (which could be any
          office) are not.

What is NOT personal data (left alone, and no reason to hold a view back)
-------------------------------------------------------------------------
- a year range 19xx/20xx-19xx/20xx going forwards, with a hyphen or dash (2024-2025,
  2024–2025), unless it is written with a dialling prefix;
- an amount: after a currency (HK$, $, US$, RMB, HKD, 港幣 ...; so "HK$ 2345 6789" is an
  amount) or before 元 / 港元 / 萬 / 億 / dollars;
- a quantity: before a count noun (people, residents, passengers, trips, 人, 戶, 次 ...) or %;
- a case or reference number: after case / ref / reference / file / complaint /
  application / enquiry / permit (with an optional no., number, # or colon), 案件 / 個案 /
  檔案 / 參考 / 申請 / 投訴 編號, or after a code and a slash ("TD 2024/23456789");
- the decimal part of a number (0.23456789), route numbers (never 8 digits: 960, N170),
  dates and times written with separators (2024-03-15, 15/3/2024, 18:30), percentages;
- a numbered street whose "number" is a year (In 2024 Tuen Mun Road ...) or follows
  route / bus / line / exit ... (route 960 Tuen Mun Road).
Deliberately still masked: 8 digits run together that happen to be a date (20240315) and
two years split by a plain space (2024 2025): both are also ordinary phone numbers, and a
resident's number matters more than a date nobody writes that way.

How
---
Matching runs on the NFKC-normalised text (full-width digits, letters, brackets, ＠ and ．
become ASCII), with invisible format characters (zero-width spaces, soft hyphens) dropped.
Every normalised character remembers the span of original characters it came from, so a
mask covers exactly the original characters of a finding, and everything else (full-width
punctuation in Chinese text included) is returned untouched. All patterns are compiled once;
each is anchored so that a scan is linear in the length of the text.
"""
from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus, urlsplit

PLACEHOLDERS = {
    "hkid": "[HKID]",
    "phone": "[PHONE]",
    "email": "[EMAIL]",
    "url": "[URL]",
    "address": "[ADDRESS]",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int  # positions in the original text
    end: int


# --- normalisation with a map back to the original ------------------------------------------

# Invisible characters someone could slip between digits; they are skipped when matching.
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")


def _char_class(points: list[int]) -> str:
    """The inside of a regex character class holding exactly these (sorted) code points."""
    ranges: list[list[int]] = []
    for cp in points:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


@functools.cache
def _changing() -> re.Pattern:
    """Characters NFKC rewrites, with combining marks joined to their base (e + ◌́ → é).

    Built once, on the first text that is not plain ASCII (about 0.1 s): a scan of the text then
    touches only these characters, so normalising stays linear and cheap.
    """
    points = [
        cp for cp in (*range(0x80, 0xD800), *range(0xE000, 0x10000), *range(0x1D400, 0x1D800), *range(0x1F100, 0x1F200))
        if unicodedata.combining(chr(cp)) or unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    ]
    marks = [cp for cp in points if unicodedata.combining(chr(cp))]
    invisible = _INVISIBLE.pattern[1:-1]
    return re.compile(rf"(?s:.)[{_char_class(marks)}]+|[{_char_class(points)}{invisible}]")


@functools.lru_cache(maxsize=8192)
def _nfkc(chunk: str) -> str:
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", chunk))


class _Normalised:
    """NFKC text plus a map from its positions back to the original text.

    Only the characters NFKC rewrites (and invisible ones, which are dropped) are recorded, as
    (normalised start, normalised end, original start, original end); between them the two
    texts run in step.
    """

    __slots__ = ("text", "_chunks", "_norm_starts")

    def __init__(self, original: str):
        self._chunks: list[tuple[int, int, int, int]] = []
        if original.isascii():
            self.text = original
            return
        parts: list[str] = []
        last = npos = 0
        for m in _changing().finditer(original):
            start, end = m.span()
            parts.append(original[last:start])
            npos += start - last
            out = _nfkc(m.group())
            parts.append(out)
            self._chunks.append((npos, npos + len(out), start, end))
            npos += len(out)
            last = end
        parts.append(original[last:])
        self.text = "".join(parts)
        self._norm_starts = [c[0] for c in self._chunks]

    def _to_original(self, pos: int, *, end: bool) -> int:
        """The original position of normalised character `pos` (its start, or its end)."""
        i = bisect.bisect_right(self._norm_starts, pos) - 1
        if i < 0:
            return pos + 1 if end else pos
        nstart, nend, ostart, oend = self._chunks[i]
        if pos < nend:  # inside a rewritten chunk: the whole chunk
            return oend if end else ostart
        offset = oend + (pos - nend)
        return offset + 1 if end else offset

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        if not self._chunks:
            return start, end
        return self._to_original(start, end=False), self._to_original(end - 1, end=True)


# --- phone numbers ----------------------------------------------------------------------------

_DASHES = "\\-\u2010-\u2015\u2212"
# One separator between digit groups: a space, or a hyphen / dash / dot with optional spaces.
_SEP = rf"(?:[ \t]?[{_DASHES}.][ \t]?|[ \t])"
# Not glued to letters, digits or a "+" before, and not the decimal part of a number.
_NUMBER_START = r"(?<![A-Za-z0-9+])(?<![0-9][.,])"
_NUMBER_END = r"(?![0-9]|\.[0-9])"

_HK_PHONE = re.compile(
    _NUMBER_START
    + rf"(?:(?P<prefix>\(\+?852\)|\+852|00852|852){_SEP}?)?"
    + rf"(?P<number>[2-9][0-9]{{3}}(?P<sep>{_SEP})?[0-9]{{4}})"
    + _NUMBER_END
)
_CN_MOBILE = re.compile(
    _NUMBER_START
    + rf"(?:(?P<prefix>\(\+?86\)|\+86|0086|86){_SEP}?)?"
    + rf"(?P<number>1[3-9][0-9]{_SEP}?[0-9]{{4}}{_SEP}?[0-9]{{4}})"
    + _NUMBER_END
)
_YEAR_RANGE = re.compile(rf"((?:19|20)[0-9]{{2}})[ \t]?[{_DASHES}][ \t]?((?:19|20)[0-9]{{2}})")

_CURRENCY_BEFORE = re.compile(
    r"(?i:HK\$|US\$|NT\$|A\$|C\$|S\$|\$|¥|£|€|RMB|HKD|USD|CNY|港幣|港元|人民幣|美元)[ \t]?\Z"
)
_UNIT_AFTER = re.compile(
    r"[ \t]?(?:%|元|港元|圓|萬|億|人|名|戶|次|個|輛|噸|公里|小時|分鐘|倍"
    r"|(?i:per[ \t]?cent|percent|dollars?|HKD|RMB|yuan|people|persons?|residents?|households?"
    r"|passengers?|visitors?|trips?|journeys?|users?|vehicles?|cars?|units?|tonnes?|tons?|kg|km"
    r"|metres?|meters?|hours?|minutes?|times)(?![A-Za-z]))"
)
_CASE_BEFORE = re.compile(
    r"(?:(?<![A-Za-z])(?i:case|ref|reference|file|complaint|application|enquiry|inquiry|permit)\.?"
    r"(?:[ \t]*(?i:no\.?|number|num\.?|#))?[ \t]*[:#]?[ \t]*"
    r"|(?:案件|個案|檔案|參考|申請|投訴|查詢)(?:編號|號碼|號)?[ \t]*[:#]?[ \t]*"
    r"|(?<![A-Za-z])[A-Z]{1,6}[ \t-]?[0-9]{1,6}/)\Z"
)
# Far enough back to see "reference number: " or "HK$ ".
_CONTEXT = 30


def _is_ordinary_number(text: str, match: re.Match) -> bool:
    """A phone-shaped number that its context shows is a year range, amount, quantity or case number."""
    if match.group("prefix"):
        return False  # a dialling prefix makes it a phone number whatever surrounds it
    number = match.group("number")
    years = _YEAR_RANGE.fullmatch(number)
    if years and int(years.group(1)) < int(years.group(2)):
        return True
    start, end = match.span()
    before = max(0, start - _CONTEXT)
    return bool(
        _CURRENCY_BEFORE.search(text, before, start)
        or _CASE_BEFORE.search(text, before, start)
        or _UNIT_AFTER.match(text, end)
    )


def _phones(text: str):
    for pattern in (_HK_PHONE, _CN_MOBILE):
        for m in pattern.finditer(text):
            if not _is_ordinary_number(text, m):
                yield "phone", m.start(), m.end()


# --- HKID -------------------------------------------------------------------------------------

_HKID = re.compile(
    r"(?<![A-Za-z0-9])(?P<letters>[A-Za-z]{1,2})[ \t]?(?P<digits>[0-9]{6})[ \t]?"
    r"(?:(?P<open>\()[ \t]?)?(?P<check>[0-9Aa])(?(open)[ \t]?\)?)(?![A-Za-z0-9])"
)


def _hkid_check_ok(letters: str, digits: str, check: str) -> bool:
    letters = letters.upper()
    values = [36] if len(letters) == 1 else []  # a single letter counts as a leading space (36)
    values += [ord(c) - 55 for c in letters]  # A=10 ... Z=35
    values += [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1)))
    remainder = total % 11
    expected = 0 if remainder == 0 else 11 - remainder
    return check.upper() == ("A" if expected == 10 else str(expected))


_SIX_DIGITS = re.compile("[0-9]{6}")


def _hkids(text: str):
    if not _SIX_DIGITS.search(text):
        return
    for m in _HKID.finditer(text):
        # Written with a bracketed check digit it is an HKID even if mistyped; without the
        # bracket, only a valid check digit tells it apart from a product or case number.
        if m.group("open") or _hkid_check_ok(m.group("letters"), m.group("digits"), m.group("check")):
            yield "hkid", m.start(), m.end()


# --- e-mail -----------------------------------------------------------------------------------

# A label is all Latin (ASCII and accented letters, digits, hyphens) or all another script, so an
# address typed straight into Chinese text ("請電郵至chan@example.com謝謝") stops where the
# Latin part stops.
_LATIN = "A-Za-z0-9\u00c0-\u024f"
_LATIN_LABEL = rf"[{_LATIN}](?:[{_LATIN}\-]{{0,61}}[{_LATIN}])?"
_OTHER_WORD = rf"[^\W_{_LATIN}]"
_OTHER_LABEL = rf"{_OTHER_WORD}{{1,63}}"
_LABEL = rf"(?:{_LATIN_LABEL}|{_OTHER_LABEL})"
_AT = r"(?:[ \t]?@[ \t]?|[ \t]*[\[({<][ \t]*(?i:at|@)[ \t]*[\])}>][ \t]*)"
_DOT = r"(?:\.|[ \t]*[\[({<][ \t]*(?i:dot)[ \t]*[\])}>][ \t]*)"
_EMAIL = re.compile(
    # The local part starts where its run of characters starts (also keeps the scan linear).
    rf"(?:(?<![{_LATIN}._%+\-])[{_LATIN}._%+\-]{{1,64}}|(?<!{_OTHER_WORD}){_OTHER_WORD}{{1,64}})"
    rf"{_AT}(?P<domain>{_LABEL}(?:{_DOT}{_LABEL}){{0,8}}{_DOT}(?:[A-Za-z]{{2,63}}|{_OTHER_LABEL}))(?![{_LATIN}\-])"
)
_DOT_FORM = re.compile(_DOT)


def is_official_domain(domain: str) -> bool:
    """The Government's own mail domains (gov.hk and its subdomains): published official contacts."""
    domain = _DOT_FORM.sub(".", domain).strip().lower().rstrip(".")
    return domain == "gov.hk" or domain.endswith(".gov.hk")


_EMAIL_HINT = re.compile(rf"@|{_AT}")


def _emails(text: str):
    if not _EMAIL_HINT.search(text):
        return  # most texts have no "@" at all; the full pattern is slower to rule out
    for m in _EMAIL.finditer(text):
        if not is_official_domain(m.group("domain")):
            yield "email", m.start(), m.end()


# --- addresses --------------------------------------------------------------------------------

# Each part is its own pattern starting with a character class, so the regex engine can skip
# ahead to candidate characters (one alternation of all parts is several times slower); the
# "not glued to a letter before" checks therefore come after the first character.
_CAP_WORD = r"[A-Z][A-Za-z'’.\-]{0,20}"
_UNIT_ID = r"(?:[0-9]{1,4}[A-Za-z]?|[A-Z][0-9]{0,3})(?![A-Za-z0-9])"
_AFTER_NON_LETTER = r"(?<![A-Za-z].)"
_EN_PARTS = [
    # 12 Nathan Road, 12-14 Queen's Road Central, 3A Kent Rd.
    ("street", re.compile(
        r"[0-9](?<![A-Za-z0-9/][0-9])[0-9]{0,3}[A-Za-z]?(?:[ \t]?[-–][ \t]?[0-9]{1,4}[A-Za-z]?)?,?[ \t]+"
        rf"(?:{_CAP_WORD}[ \t]+){{0,3}}{_CAP_WORD}[ \t]+"
        r"(?i:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Path|Drive|Dr|Terrace|Crescent|Circuit|Boulevard"
        r"|Blvd|Highway|Hwy|Rise|Walk|Way|Square|Sq|Place|Pl|Praya|Close)(?![A-Za-z])\.?"
        r"(?:[ \t]+(?:East|West|North|South|Central)(?![A-Za-z]))?")),
    ("flat", re.compile(rf"[Ff]{_AFTER_NON_LETTER}(?i:lat|lt)\.?[ \t]?{_UNIT_ID}")),
    ("room", re.compile(
        rf"[RrUuSsOo]{_AFTER_NON_LETTER}(?i:(?<=r)oom|(?<=r)m|(?<=u)nit|(?<=s)uite|(?<=s)hop|(?<=o)ffice)"
        rf"\.?[ \t]?{_UNIT_ID}")),
    ("floor", re.compile(
        r"[0-9GLUM](?<![A-Za-z0-9].)(?:(?<=[0-9])[0-9]{0,2}|(?<=[LU])G|)[ \t]?/[ \t]?[Ff](?![A-Za-z0-9])")),
    ("floor", re.compile(r"[0-9](?<![A-Za-z0-9][0-9])[0-9]{0,2}(?i:st|nd|rd|th)[ \t]+(?i:floor)(?![A-Za-z])")),
    ("floor", re.compile(rf"[GgUuLl]{_AFTER_NON_LETTER}(?i:(?<=g)round|(?<=u)pper ground|(?<=l)ower ground)[ \t]+(?i:floor)(?![A-Za-z])")),
    ("block", re.compile(
        rf"[BbTt]{_AFTER_NON_LETTER}(?i:(?<=b)lock|(?<=b)lk|(?<=t)ower)\.?[ \t]?(?:[0-9]{{1,3}}[A-Za-z]?|[A-Z])(?![A-Za-z0-9])")),
    ("estate", re.compile(
        rf"[A-Z]{_AFTER_NON_LETTER}(?:[A-Za-z'’.\-]{{0,20}}[ \t]+{_CAP_WORD}){{0,2}}[A-Za-z'’.\-]{{0,20}}[ \t]+"
        r"(?:Estate|Court|Mansions?|Gardens?|Villas?|Heights|Lodge)(?![A-Za-z])")),
    ("building", re.compile(
        rf"[A-Z]{_AFTER_NON_LETTER}(?:[A-Za-z'’.\-]{{0,20}}[ \t]+{_CAP_WORD}){{0,2}}[A-Za-z'’.\-]{{0,20}}[ \t]+"
        r"(?:Building|Bldg|House|Centre|Center|Plaza|Tower)(?![A-Za-z])")),
]

# Chinese place names: characters that end a name are function words and verbs that come before
# an address ("我住在彌敦道…") and the first halves of common words ending in 道/路 (知道, 網路).
_ZH_STOP = "在住於是的到往去近及和與由我你他她們向從至經位沿係喺為請或而也都就要可將把被給對知報頻味管渠軌跑思出網"
_ZH_NAME = rf"[^\W\d_{_LATIN}{_ZH_STOP}]"
# An estate or building name does not run across another estate or building ("彩虹邨金漢樓").
_ZH_BUILDING_NAME = rf"[^\W\d_{_LATIN}{_ZH_STOP}邨村苑閣軒居樓廈]"
_ZH_NUMERAL = "一二三四五六七八九十百零〇"
_ZH_PARTS = [
    # 彌敦道123號, 皇后大道中99號, 青山公路一百號; not 960號巴士 or 8號風球
    ("street", re.compile(
        rf"{_ZH_NAME}{{1,6}}(?:大道|道|街|路|里|徑|巷|坊|圍)[東南西北中]?[ \t]?"
        rf"(?:[0-9]{{1,4}}[A-Za-z]?(?:[-至][0-9]{{1,4}}[A-Za-z]?)?|[{_ZH_NUMERAL}]{{1,6}})[ \t]?[號号]"
        r"(?!巴士|小巴|線|车|車|風球|房)")),
    ("floor", re.compile(rf"(?:[0-9]{{1,3}}|[{_ZH_NUMERAL}]{{1,3}})[ \t]?字?樓(?![宇梯價市盤面])")),
    ("room", re.compile(r"(?:[0-9]{1,4}[A-Za-z]?|[A-Z])[ \t]?室")),
    ("block", re.compile(rf"(?:[0-9]{{1,3}}[A-Za-z]?|[A-Z]|[{_ZH_NUMERAL}]{{1,3}})[ \t]?座(?![位椅談])")),
    ("estate", re.compile(rf"{_ZH_BUILDING_NAME}{{1,5}}(?:邨|村|苑|花園|山莊|閣|軒|居|豪庭)")),
    ("building", re.compile(rf"{_ZH_BUILDING_NAME}{{1,6}}(?:大廈|大樓|中心|廣場|樓)(?![宇梯價市盤面])")),
]
# Every Chinese part ends in one of these; the Chinese patterns run only near them, since
# patterns that start with "any Chinese character" would otherwise be tried everywhere.
_ZH_TRIGGER = re.compile("[道街路里徑巷坊圍號号樓室座邨村苑園莊閣軒居庭廈心場]")
_ZH_WINDOW_BEFORE, _ZH_WINDOW_AFTER = 24, 16

_PART_GAP = re.compile(r"[ \t,]*")
# A street "number" after these words is a route, an exit or a section, not a house number.
_NOT_HOUSE_NUMBER_BEFORE = re.compile(
    r"(?<![A-Za-z])(?i:routes?|bus|buses|minibus|minibuses|lines?|flight|exit|gate|platform|phase|stage"
    r"|chapter|section|item|paragraph)[ \t]*\Z"
)
_NUMBER_SIGN_BEFORE = re.compile(r"(?<![A-Za-z])(?i:no)\.?[ \t]?\Z")


def _is_house_number(text: str, start: int, end: int) -> bool:
    number = int(re.match(r"[0-9]+", text[start:end]).group())
    before = max(0, start - _CONTEXT)
    if 1900 <= number <= 2099 and not _NUMBER_SIGN_BEFORE.search(text, before, start):
        return False  # "In 2024 Tuen Mun Road was closed"
    return not _NOT_HOUSE_NUMBER_BEFORE.search(text, before, start)


def _zh_windows(text: str):
    window_start = window_end = -1
    for m in _ZH_TRIGGER.finditer(text):
        start, end = max(0, m.start() - _ZH_WINDOW_BEFORE), m.end() + _ZH_WINDOW_AFTER
        if start > window_end:
            if window_end > 0:
                yield window_start, window_end
            window_start = start
        window_end = end
    if window_end > 0:
        yield window_start, min(window_end, len(text))


def _address_parts(text: str) -> list[tuple[int, int, str]]:
    parts = []
    for kind, pattern in _EN_PARTS:
        for m in pattern.finditer(text):
            if kind != "street" or _is_house_number(text, m.start(), m.end()):
                parts.append((m.start(), m.end(), kind))
    for window_start, window_end in _zh_windows(text):
        for kind, pattern in _ZH_PARTS:
            parts.extend((m.start(), m.end(), kind) for m in pattern.finditer(text, window_start, window_end))
    # Where parts overlap the earliest, longest wins ("荃灣村道12號" is a street, not an estate).
    parts.sort(key=lambda p: (p[0], -p[1]))
    kept: list[tuple[int, int, str]] = []
    for part in parts:
        if not kept or part[0] >= kept[-1][1]:
            kept.append(part)
    return kept


def _is_personal_address(kinds: set[str]) -> bool:
    units = kinds & {"flat", "room", "floor", "block"}
    return bool(
        "street" in kinds
        or ("flat" in kinds and len(kinds) > 1)
        or {"block", "floor"} <= kinds
        or ("estate" in kinds and units)
        or ("building" in kinds and {"room", "floor"} <= kinds)
    )


def _addresses(text: str):
    chains: list[tuple[int, int, set[str]]] = []
    for start, end, kind in _address_parts(text):
        if chains and _PART_GAP.fullmatch(text, chains[-1][1], start):
            chains[-1] = (chains[-1][0], end, chains[-1][2] | {kind})
        else:
            chains.append((start, end, {kind}))
    for start, end, kinds in chains:
        if _is_personal_address(kinds):
            yield "address", start, end


# --- URLs -------------------------------------------------------------------------------------

_URL = re.compile(
    r"(?:(?<![\w@.])(?i:https?|ftp)://|(?<![\w@./])(?i:www)\.)[^\s<>\"'`\u3000-\u303f\ufe30-\ufe4f]+"
)
# Punctuation that, followed by text in another script, ends the link (the full-width "，" of
# Chinese text is a "," once normalised).
_URL_CUT = re.compile(r"[,;:!?)\]}](?=[^\x00-\x7f])")
_URL_TRAILING = ".,;:!?'\"]}"

_PERSONAL_KEYS = frozenset(
    """name fullname firstname lastname surname givenname familyname fname lname username user nickname
    contactname applicantname sendername email mail emailaddress phone phoneno phonenumber tel telephone
    mobile mobileno cell contact whatsapp hkid idno idnumber identity address addr homeaddress
    姓名 名字 電話 手機 電郵 地址 身份證""".split()
)
_PERSONAL_KEY_ENDINGS = ("email", "phone", "mobile", "address")


def _url_end(text: str, start: int, end: int) -> int:
    cut = _URL_CUT.search(text, start, end)
    if cut:
        end = cut.start()
    while end > start and (text[end - 1] in _URL_TRAILING or (
            text[end - 1] == ")" and text.count("(", start, end) < text.count(")", start, end))):
        end -= 1
    return end


def _personal_key(key: str) -> bool:
    key = "".join(c for c in unquote_plus(key).lower() if c.isalnum())
    return key in _PERSONAL_KEYS or key.endswith(_PERSONAL_KEY_ENDINGS)


def _url_is_personal(url: str) -> bool:
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)
        if "@" in parts.netloc:
            return True
        for piece in (parts.query, parts.fragment):
            for pair in re.split(r"[&;]", piece):
                if _personal_key(pair.split("=", 1)[0]):
                    return True
    except ValueError:
        pass  # not a well-formed URL: what is in it still decides
    for decoded in {unquote(url), unquote_plus(url)}:
        decoded = unicodedata.normalize("NFKC", decoded)
        for detect in _INNER_DETECTORS:
            if next(detect(decoded), None):
                return True
    return False


def _urls(text: str):
    """Yield ("url", start, end) for personal links and ("link", start, end) for the others."""
    if "://" not in text and "www." not in text.lower():
        return
    for m in _URL.finditer(text):
        end = _url_end(text, m.start(), m.end())
        if end > m.start():
            yield ("url" if _url_is_personal(text[m.start():end]) else "link"), m.start(), end


_INNER_DETECTORS = (_hkids, _phones, _emails, _addresses)


# --- the API ----------------------------------------------------------------------------------

def span_key(s: str) -> str:
    """How a masked span is compared with a moderator's "not personal data" mark: NFKC, case
    folded, every whitespace and invisible character removed, so the mark still applies when the
    same text is typed with other spaces, widths or case."""
    folded = _INVISIBLE.sub("", unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", s).casefold()))
    return "".join(c for c in folded if not (c.isspace() or unicodedata.category(c) in ("Cf", "Cc", "Zs", "Zl", "Zp")))


def find_personal_data(text: str | None, *, not_personal: Collection[str] = ()) -> list[Finding]:
    """Personal data in `text`, as non-overlapping spans of the original text, in order.

    A finding whose text a moderator marked as not personal data (`not_personal`, compared
    through `span_key`) is left out.
    """
    if not text:
        return []
    norm = _Normalised(text)
    found: list[tuple[str, int, int]] = []
    links: list[tuple[int, int]] = []
    for kind, start, end in _urls(norm.text):
        if kind == "link":
            links.append((start, end))
        else:
            found.append((kind, start, end))
    for detect in _INNER_DETECTORS:
        found.extend(detect(norm.text))
    # Nothing inside an ordinary link is masked: by the rule above it holds no personal data,
    # and a half-masked link would no longer work.
    if links:
        link_starts = [start for start, _ in links]

        def inside_link(start: int, end: int) -> bool:
            i = bisect.bisect_right(link_starts, start) - 1
            return i >= 0 and end <= links[i][1]

        found = [f for f in found if f[0] == "url" or not inside_link(f[1], f[2])]
    findings = [Finding(kind, *norm.original_span(start, end)) for kind, start, end in found]
    # Keep the earliest, longest match where two overlap (a phone inside an e-mail or a URL).
    findings.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Finding] = []
    for f in findings:
        if not kept or f.start >= kept[-1].end:
            kept.append(f)
    if not_personal:
        # After the overlaps are settled: the moderator marked the span they saw masked, and it
        # is then shown exactly as typed, whatever shorter match lies inside it.
        marks = {span_key(s) for s in not_personal}
        kept = [f for f in kept if span_key(text[f.start:f.end]) not in marks]
    return kept


def redact(text: str | None, *, not_personal: Collection[str] = ()) -> str:
    """`text` with every finding replaced by its placeholder, every other character as it was."""
    if not text:
        return text or ""
    parts, last = [], 0
    for f in find_personal_data(text, not_personal=not_personal):
        parts += [text[last:f.start], PLACEHOLDERS[f.kind]]
        last = f.end
    parts.append(text[last:])
    return "".join(parts)


def publication_source(sub) -> str:
    """The text a view is published from: a moderator's edit, else the view as sent."""
    return sub.public_text if sub.public_text is not None else sub.body


def published_text(sub) -> str:
    """What the public sees of a view: its publication source masked, a moderator's edit too
    (people retype personal data into edits), but for what a moderator marked not personal."""
    return redact(publication_source(sub), not_personal=sub.not_personal or ())
