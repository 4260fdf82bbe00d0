"""Find and mask personal data in published text: one function for views and answers alike.

`find_personal_data(text)` lists what it finds (routing holds such a view back for a
moderator); `redact(text)` returns the text with each finding replaced by its placeholder and
every other character exactly as typed. Every public page shows views and bureau answers
through the `redact` template filter. Both take `not_personal`: texts a moderator marked as
not personal data; a finding whose text equals one of them by `span_key` (NFKC, case folded,
whitespace and invisible characters removed) is left out, and shown exactly as typed.

What is masked
--------------
Matching runs on the NFKC text with invisible characters dropped (zero-width spaces, soft
hyphens, variation selectors and the keycap mark of 9️⃣), and with every digit as an ASCII digit:
decimal digits of any script (٩, ९, ๙ ...) and Chinese numerals read digit by digit
(零〇一二三四五六七八九, 壹貳參叁肆伍陸柒捌玖, 兩/两 for 2 and 幺 for 1) where six or more stand
together, separators allowed but not commas (so 二〇二四年 and 一五一十，七七八八 stay words).

[PHONE]   A run of digits joined by separators (up to three of: spaces, - – —, . / _ · ・ 、 * | ~ '
          brackets, commas, newlines), read whole whatever its grouping: HK numbers (8 digits
          starting 2-9), Mainland mobiles (1[3-9] and 9 digits), Mainland landlines (0, an area
          code 10 / 2x then 8 digits or 3xx-9xx then 7-8), each optionally after +852 / 852 /
          00852 or +86 / 86 / 0086 (the trunk 0 optional then). Several numbers in one run are
          cut where they meet ("2345 6789 / 9123 4567"); a number and an ordinary one only at a
          comma, slash, bracket, full stop or double space ("In 2024, 9123 4567"). Glued to
          letters only after tel, phone, whatsapp, wechat, call, contact ... (SKU12345678 is a
          code). Also seven or more digits spelled in English (nine one two three ...).
[CARD]    13-19 digits starting 2-6 that pass the Luhn check, grouped any way but not split at
          a comma or slash; 12-19 digits after card, Visa, 信用卡, 卡號 ... whatever the check.
[HKID]    One or two letters, six digits and a check digit, separators anywhere; with a
          bracketed check digit ((3), [3], full-width) even if mistyped, unbracketed only with a
          valid check digit (and not after a two-letter word such as "In"); after HKID, HKIC,
          ID card, 身份證 ... also without the check digit (A123456).
[ID NUMBER] Mainland identity cards: 18 characters with a date of birth inside, when the ISO 7064
          check holds or after 身份证 / ID.
[PASSPORT] H or K and 8 digits (HKSAR), E and 8 digits or E, a letter and 7 (Mainland), alone;
          after passport, pp no., 護照, 通行證, 回鄉證 ... any number of 0-2 letters and 5-14 digits.
[EMAIL]   name@domain with Unicode local parts and domains (陳大文@例子.香港; a domain in Chinese
          ends only in a known Chinese top-level domain), and spelled out or spaced: at / (at) /
          [at] / 艾特 / 在, dot / (dot) / 點 / spaced dots, underscore and dash as words in the
          local part ("chan dot taiman at gmail dot com", "chan 在 gmail 點 com"), ending in a
          known top-level domain. After the bare word "at" or 在 the local part must not be an
          ordinary word ("look at example.com") nor the domain start with www. (a link); after
          在 the local part must be Latin. Addresses on gov.hk
          or its subdomains are official contacts and are never findings.
[URL]     personal links. A link is personal when it carries user info (user@host), a query
          or fragment parameter named for personal data (name, email, phone, tel, mobile,
          hkid, address ...; see _PERSONAL_KEYS), or any personal data anywhere in it after
          percent-decoding (https://wa.me/85291234567; a slash ends a number there). It is
          then masked whole. Any other link (https://www.gov.hk/en/residents/?lang=en) is left
          whole, and nothing inside it is masked, so it still works.
[ADDRESS] residential and postal addresses, in any case. Parts are found: a numbered street
          (12 Nathan Road, 12 nathan rd, 彌敦道123號, 林村1號; a lower-case name ending in walk,
          way, place, close ... counts only beside a unit), a flat (Flat 12B, House 1, Lot 100), a room
          (Room 1203, rm 12, Unit 5, 1203室), a floor (15/F, g/f, 3rd floor, 12 floor, 12樓,
          12字樓, 12楼, 12層), a block (Block 3, blk a, Tower 2, Phase 2, DD 1, 3座, 3棟, 2期), an
          estate (Wah Fu Estate, ... Court, Gardens, Chuen, Tsuen, Village, Wai; 彩虹邨, 麗晶花園,
          华华台) and other named buildings (Sun Hing Building, kam fung house, 金漢樓, 恒生大廈).
          Parts separated only by spaces, commas, 第 or "No." form one chain, masked whole when
          it holds a numbered street; a flat with any other part (or a place named after a
          comma: "house 1, pak sha wan"); a block with a floor; an estate with a flat, room,
          floor or block; a named building with both a room and a floor; or any unit after
          words saying someone lives there (I live at, my address, 地址, 住在, 寄到 ...). A bare
          "12a," or "1203" right before a floor is the flat. So "flat 3b 15/f block 2 wah fu
          estate" and "彩虹邨金漢樓12樓1203室" are masked, while a street name alone (Nathan
          Road, 彌敦道), a floor alone (12/F), an estate name alone and "Room 1203, 12/F" (which
          could be any office) are not.
[NAME]    A Chinese surname (a list of common ones, compound ones such as 歐陽 and 司徒, two for
          a married woman's 陳黃), an optional given name of one or two characters and 先生 /
          小姐 / 女士 / 太太 (not before 們, 团: 女士們; 司機先生 and 任何女士 are not names);
          陳生 / 李太 only where nothing Chinese stands around them but a word such as 同 or 講.
          Mr / Mrs / Ms / Miss / Mdm / Madam / Dr / Prof and capitalised words, a romanised
          surname in lower case (mr chan) or a Chinese name (Mr 陳志); the name stops before a
          word such as "The" or "Could". An official named after an office (局長, 署長, 主席,
          議員 ...; Secretary, Director, Commissioner, Chairman ... earlier in the sentence) is
          not masked: answers name them.
[DATE OF BIRTH] a date after DOB, D.O.B., date of birth, born on / in, birthday, 出生日期, 出生,
          出世, 生日, 生於 ...: 15/03/1985, 1985-03-15, 15.3.85, 19850315, 3rd of March 1985,
          March 3, 1985, March 1985, 1985, 一九八五年三月十五日, 3月15日; and a whole date
          followed by 出世 / 出生 (我1985年3月15日出世), but not a year alone or a count of births.
[ACCOUNT] 6-20 digits (a bank code in brackets first allowed) after account no., a/c, acct,
          bank account, IBAN, a bank's name (HSBC, 匯豐, 中銀 ...), 戶口, 賬戶, 账户, 賬號, 銀行,
          入數 / 轉賬 ..., unless it is an amount.

The digits an HKID, ID card, passport, e-mail, date of birth, account or spelled-out number
holds are not read again as a phone or card number. Where findings overlap, the earliest,
longest wins; a finding covers any invisible characters right after it.

What is NOT personal data (left alone, and no reason to hold a view back)
-------------------------------------------------------------------------
- two years going forwards (2024-2025, 2024–2025, 2024/2025, 2024 2025) and dates
  (2024-03-15, 15/03/2024, 20240315) without a dialling prefix; after tel, phone, call,
  電話, 手機 ... in the same sentence they are phone numbers all the same;
- an amount: after a currency (HK$, $, US$, RMB, HKD, 港幣 ...; so "HK$ 2345 6789" is an
  amount) or before 元 / 港元 / 萬 / 億 / dollars; thousands written with commas (23,456,789);
- a quantity: before a count noun (people, passengers, 人, 戶, 次, 平方米 ..., or any plural
  English noun: "23456789 applications") or %;
- a case or reference number: after case / ref / reference / file / complaint /
  application / enquiry / permit / licence / order / invoice / form / ticket / receipt /
  transaction / booking / tracking / serial / claim / policy (with an optional no., number,
  # or colon, and an office's code: "ref no. TD/2024/23456789"), 案件 / 個案 / 檔案 / 參考 /
  申請 / 投訴 / 編號 (both scripts), or after a code and a slash ("TD 2024/23456789"), the
  whole run after such a word included;
- a Hong Kong fixed-line number (2 or 3 first) after hotline or 熱線 / 热线 (an office's,
  published for everyone to call; a mobile number called a hotline is still masked);
- the decimal part of a number (0.23456789), route numbers (never 8 digits: 960, N170),
  times (18:30), percentages, numbers on a map (22.9833, 114.4699), network addresses
  (203.0.113.7);
- a numbered street whose "number" is a year (In 2024 Tuen Mun Road ...) or follows
  route / bus / line / exit ... (route 960 Tuen Mun Road).

How
---
Every normalised character remembers the span of original characters it came from, so a
mask covers exactly the original characters of a finding, and everything else (full-width
punctuation in Chinese text included) is returned untouched. All patterns are compiled once;
each is anchored or bounded (no unbounded repetition inside a repetition), so a scan is linear
in the length of the text; a run of more than 48 digit groups is read only between its strong
separators. Cheap tests (how many digits, a word such as "born") decide which detectors run.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote, unquote_plus, urlsplit

from .chinese import HAN_RANGES

PLACEHOLDERS = {
    "hkid": "[HKID]",
    "phone": "[PHONE]",
    "email": "[EMAIL]",
    "url": "[URL]",
    "address": "[ADDRESS]",
    "card": "[CARD]",
    "passport": "[PASSPORT]",
    "name": "[NAME]",
    "birth_date": "[DATE OF BIRTH]",
    "bank_account": "[ACCOUNT]",
    "id_card": "[ID NUMBER]",
}


# What a detector yields: (kind, start, end), positions in the text it was given.
_Found = Iterator[tuple[str, int, int]]


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int  # positions in the original text
    end: int


# --- normalisation with a map back to the original ------------------------------------------

# Invisible characters someone could slip between digits; they are skipped when matching.
# Variation selectors and the keycap mark go too: "9️⃣1️⃣" is the digits 9 and 1 dressed up.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u20e3\ufe00-\ufe0f\ufeff"
    "\U000e0100-\U000e01ef]"
)


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
def _changing() -> re.Pattern[str]:
    """Characters NFKC rewrites, with combining marks joined to their base (e + ◌́ → é).

    Built once, on the first text that is not plain ASCII (about 0.1 s): a scan of the text then
    touches only these characters, so normalising stays linear and cheap.
    """
    points = [
        cp
        for cp in (*range(0x80, 0xD800), *range(0xE000, 0x10000), *range(0x1D400, 0x1D800), *range(0x1F100, 0x1F200))
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

    __slots__ = ("_chunks", "_norm_starts", "text")

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
        _, nend, ostart, oend = self._chunks[i]
        if pos < nend:  # inside a rewritten chunk: the whole chunk
            return oend if end else ostart
        offset = oend + (pos - nend)
        return offset + 1 if end else offset

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        if not self._chunks:
            return start, end
        return self._to_original(start, end=False), self._to_original(end - 1, end=True)


# --- digits of any script ---------------------------------------------------------------------

# Chinese numerals as read out digit by digit (九一二三 四五六七, 壹貳參, 幺 for one, 兩 for two).
_ZH_DIGIT_VALUES = {
    **dict.fromkeys("零〇", "0"),
    **dict.fromkeys("一壹幺", "1"),
    **dict.fromkeys("二貳贰兩两", "2"),
    **dict.fromkeys("三參叁参", "3"),
    **dict.fromkeys("四肆", "4"),
    **dict.fromkeys("五伍", "5"),
    **dict.fromkeys("六陸陆", "6"),
    **dict.fromkeys("七柒", "7"),
    **dict.fromkeys("八捌", "8"),
    **dict.fromkeys("九玖", "9"),
}
_ZH_DIGITS = "".join(_ZH_DIGIT_VALUES)
_ZH_DIGIT_TABLE = str.maketrans(_ZH_DIGIT_VALUES)
# What people put between the digits of one number: spaces (NBSP, thin and ideographic spaces are
# spaces once normalised; zero-width ones are gone), hyphens and dashes, dots, slashes,
# underscores, middle dots, commas, brackets around a prefix. Up to three in a row (" - ").
_RUN_SEP = "\t\n\r \\-\u2010-\u2015\u2212._/\u00b7\u2022\u2027\u30fb\u3001,()\\[\\]*|~'"
_RUN_GAP = f"[{_RUN_SEP}]{{0,3}}"
# Six or more numerals in a row (with separators) are a number read out, not words ("一二三" in a
# list is left alone; a year in numerals, 二〇二四, has only four).
# A comma ends such a run: Chinese lists numerals and idioms with it (一五一十，七七八八).
_ZH_NUMERAL_RUN = re.compile(rf"[{_ZH_DIGITS}0-9](?:[{_RUN_SEP.replace(',', '')}]{{0,3}}[{_ZH_DIGITS}0-9]){{5,}}")
_HAS_ZH_DIGIT = re.compile(f"[{_ZH_DIGITS}]")


@functools.cache
def _decimal_table() -> dict[int, str]:
    """Every decimal digit of every script (Arabic-Indic, Devanagari, Thai ...) to its ASCII digit.

    NFKC already turns full-width and mathematical digits into ASCII; these it leaves alone.
    """
    return {
        cp: str(unicodedata.decimal(chr(cp))) for cp in range(0x80, 0x20000) if unicodedata.category(chr(cp)) == "Nd"
    }


def _fold_digits(text: str) -> str:
    """`text` with every digit, of any script or a Chinese numeral in a number, as an ASCII digit.

    One character for one, so positions stay those of the normalised text.
    """
    if text.isascii():
        return text
    text = text.translate(_decimal_table())
    if _HAS_ZH_DIGIT.search(text):
        text = _ZH_NUMERAL_RUN.sub(lambda m: m.group().translate(_ZH_DIGIT_TABLE), text)
        text = _ZH_NUMERAL_RUN_WITH_COMMAS.sub(_numerals_after_a_phone_word, text)
    return text


# After words saying a phone number follows, a comma no longer ends a run of numerals
# ("我個電話係九一二三，四五六七"); elsewhere it does (一五一十，七七八八 is an idiom, not a number).
_ZH_NUMERAL_RUN_WITH_COMMAS = re.compile(rf"[{_ZH_DIGITS}0-9](?:{_RUN_GAP}[{_ZH_DIGITS}0-9]){{5,}}")


def _numerals_after_a_phone_word(m: re.Match[str]) -> str:
    numerals = m.group()
    if _HAS_ZH_DIGIT.search(numerals) and _PHONE_BEFORE.search(m.string, max(0, m.start() - _CONTEXT), m.start()):
        return numerals.translate(_ZH_DIGIT_TABLE)
    return numerals


# --- what the words around a number say --------------------------------------------------------

# Far enough back to see "reference number: " or "HK$ ".
_CONTEXT = 30
_CURRENCY_BEFORE = re.compile(
    r"(?i:HK\$|US\$|NT\$|A\$|C\$|S\$|\$|¥|£|€|RMB|HKD|USD|CNY|港幣|港币|港元|人民幣|人民币|美元)[ \t]?\Z"
)
_UNIT_AFTER = re.compile(
    r"[ \t]?(?:%|元|港元|圓|萬|万|億|亿|人|名|戶|户|次|個|个|輛|辆|架|部|間|间|張|张|條|条|宗|噸|吨|公里|公斤|公頃|平方|呎|米"
    r"|小時|小时|分鐘|分钟|倍|單位|单位"
    r"|(?i:per[ \t]?cent|percent|dollars?|HKD|RMB|yuan|people|persons?|residents?|households?"
    r"|passengers?|visitors?|trips?|journeys?|users?|vehicles?|cars?|units?|flats?|tonnes?|tons?|kg|km|m2|sq"
    r"|square|metres?|meters?|feet|ft|hours?|minutes?|times)(?![A-Za-z])"
    # or any plural noun: "handled 23456789 applications" (but "9123 4567 thanks")
    r"|(?!(?:thanks|always|perhaps|unless|besides|towards|afterwards|sometimes)(?![A-Za-z]))[a-z]{3,}s(?![A-Za-z]))"
)
_CASE_BEFORE = re.compile(
    r"(?:(?<![A-Za-z])(?i:case|ref|reference|file|complaint|application|enquiry|inquiry|permit|licen[cs]e|order|invoice"
    r"|form|ticket|receipt|transaction|booking|tracking|serial|claim|policy)\.?"
    # an office's code may come first: "ref no. TD/2024/23456789"
    r"(?:[ \t]*(?i:no\.?|number|num\.?|#))?[ \t]*[:#]?[ \t]*(?:[A-Z]{1,6}[ \t]?[/\-][ \t]?){0,2}"
    r"|(?:案件|個案|个案|檔案|档案|參考|参考|申請|申请|投訴|投诉|查詢|查询|編號|编号)(?:編號|编号|號碼|号码|號|号)?[ \t]*[:#]?[ \t]*"
    r"|(?<![A-Za-z])[A-Z]{1,6}[ \t-]?[0-9]{1,6}/)\Z"
)
# A number the text calls a hotline is an office's, published for everyone to call.
_HOTLINE_BEFORE = re.compile(r"(?i:hot[ \t]?line|help[ \t]?line)[^0-9]{0,16}\Z|(?:熱線|热线)[^0-9]{0,8}\Z")
# Words that say a number is a phone number, even one that looks like a date or two years.
_PHONE_BEFORE = re.compile(
    r"(?:(?i:tel|phone|call|mobile|mob|cell|whats[ \t]?app|wechat|signal|telegram|contact|fax|sms|text me|reach me)"
    r"|電話|电话|手機|手机|致電|致电|聯絡|联络|聯繫|联系|傳真|传真|微信|短訊|短信|打俾|打畀|打給|打给|同號|同号)[^0-9.。!?！？\n]{0,20}\Z"
)
# Letters a phone number may be glued to ("tel91234567", "whatsapp85291234567"); other letters
# glued to digits make a code (SKU12345678).
_GLUE_WORDS = frozenset(
    "tel tele telephone phone ph mobile mob cell whatsapp wa wechat weixin signal telegram tg call contact fax sms text"
    " no num number me at on".split()
)
_LETTERS_BEFORE = re.compile(r"[A-Za-z]+\Z")


def _glued_to_a_code(text: str, start: int) -> bool:
    if start == 0 or not ("A" <= text[start - 1] <= "Z" or "a" <= text[start - 1] <= "z"):
        return False  # Chinese written straight against a number ("手機91234567") is not a code
    word = _LETTERS_BEFORE.search(text, max(0, start - 12), start)
    return not (word and word.group().lower() in _GLUE_WORDS)


# --- numbers: phones and payment cards ---------------------------------------------------------

# A run of digits joined by separators; which number it is is decided from its digits and how
# they are grouped, so any separator between any digits is read alike. The pattern cannot
# backtrack far: separators and digits are disjoint and a gap is at most three characters.
_RUN = re.compile(rf"[0-9](?:{_RUN_GAP}[0-9])*")
_GROUP = re.compile("[0-9]+")
# Where a run may be cut into separate numbers around something else ("2024. 9123 4567").
_STRONG_SEP = re.compile(r"[,;/()\[\]\n\r]|\.[ \t]|[ \t]{2}")
_DATE_SEP = re.compile(r"[ \t]*[-\u2010-\u2015\u2212/.][ \t]*|[ \t]+")
_MAX_NUMBER = 19 + 5  # the longest card and its separators' worth of prefix: chunks never exceed it


@dataclass(frozen=True)
class _Group:
    digits: str
    start: int  # in the text
    end: int


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(number)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _valid_date(year: int, month: int, day: int) -> bool:
    return 1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31


def _looks_like_date_or_years(groups: list[_Group], seps: list[str]) -> bool:
    """Two years going forwards (2024-2025, 2024 2025), or a date (2024-03-15, 15/03/2024, 20240315)."""
    digits = [g.digits for g in groups]
    if len(digits) == 2 and all(len(d) == 4 for d in digits):
        return 1900 <= int(digits[0]) < int(digits[1]) <= 2099
    if len(digits) == 3 and all(_DATE_SEP.fullmatch(s) for s in seps):
        if len(digits[0]) == 4 and len(digits[1]) <= 2 and len(digits[2]) <= 2:
            return _valid_date(int(digits[0]), int(digits[1]), int(digits[2]))
        if len(digits[2]) == 4 and len(digits[0]) <= 2 and len(digits[1]) <= 2:
            first, second, year = int(digits[0]), int(digits[1]), int(digits[2])
            return _valid_date(year, second, first) or _valid_date(year, first, second)
    if len(digits) == 1 and len(digits[0]) == 8:
        d = digits[0]
        return _valid_date(int(d[:4]), int(d[4:6]), int(d[6:])) or _valid_date(int(d[4:]), int(d[2:4]), int(d[:2]))
    return False


def _hk_number(d: str) -> bool:
    return len(d) == 8 and d[0] in "23456789"


def _mainland_mobile(d: str) -> bool:
    return len(d) == 11 and d[0] == "1" and d[1] in "3456789"


def _mainland_landline(d: str) -> bool:
    """Area code (10, 2x: then 8 digits; 3xx-9xx: then 7 or 8), the trunk 0 already taken off."""
    if d[:2] == "10" or (d[:1] == "2" and len(d) > 1):
        subscriber = d[2:]
        return len(subscriber) == 8 and subscriber[0] not in "01"
    subscriber = d[3:]
    return d[:1] in "3456789" and len(subscriber) in (7, 8) and subscriber[0] not in "01"


def _phone_kind(d: str, plus: bool) -> tuple[bool, bool]:
    """(is a phone number, carries a dialling prefix) for the digits `d` of one number."""
    for prefix, rest_ok in (("00852", _hk_number), ("852", _hk_number), ("0086", None), ("86", None)):
        if d.startswith(prefix) and len(d) > len(prefix) + 6:
            rest = d[len(prefix) :]
            if rest_ok is not None:
                if rest_ok(rest):
                    return True, True
            elif _mainland_mobile(rest) or _mainland_landline(rest.removeprefix("0")):
                return True, True
    if _hk_number(d) or _mainland_mobile(d):
        return True, plus
    if d[:1] == "0" and 10 <= len(d) <= 12 and _mainland_landline(d[1:]):
        return True, True  # the trunk 0 and an area code say it as plainly as a prefix
    return False, False


def _office_line(d: str) -> bool:
    """A Hong Kong fixed line (2 or 3 first), as offices' hotlines are: a mobile number called a
    hotline ("my hotline 9123 4567") is still a person's."""
    local = d[3:] if len(d) == 11 and d.startswith("852") else d
    return len(local) == 8 and local[0] in "23"


def _card(d: str) -> bool:
    # Visa 4, Mastercard 2/5, Amex and JCB 3, UnionPay and Discover 6: and the Luhn check, which
    # one long number in ten passes by chance.
    return 13 <= len(d) <= 19 and d[0] in "23456" and _luhn_ok(d)


_CARD_BEFORE = re.compile(
    r"(?:(?i:card|visa|master[ \t]?card|amex|american express|unionpay|jcb|diners)|信用卡|扣賬卡|扣账卡|銀聯|银联|卡號|卡号)"
    r"[^0-9]{0,20}\Z"
)


def _number_kind(text: str, groups: list[_Group], seps: list[str], run_start: int) -> str | None:
    """The kind of the number written as `groups` (with `seps` between them), or None."""
    start = groups[0].start
    d = "".join(g.digits for g in groups)
    if len(d) > _MAX_NUMBER:
        return None
    plus = (start > 0 and text[start - 1] == "+") or text[max(0, start - 2) : start] == "+ "
    phone, prefixed = _phone_kind(d, plus)
    card = not phone and 12 <= len(d) <= 19
    before = max(0, start - _CONTEXT)
    if not (phone or card):
        return None  # the digits alone rule most candidates out before any context is read
    if phone and _office_line(d) and _HOTLINE_BEFORE.search(text, before, start):
        return None
    if phone:
        if prefixed:
            return "phone"
        return None if _is_ordinary_number(text, groups, seps, run_start) else "phone"
    if 12 <= len(d) <= 19 and _CARD_BEFORE.search(text, before, start):
        return "card"
    # Without a word saying so, a card is printed in groups, never split at a comma or slash
    # ("22.9833, 114.4699" is a place on a map).
    if (
        _card(d)
        and not any(_STRONG_SEP.search(sep) for sep in seps)
        and not _CASE_BEFORE.search(text, before, start)
        and not _CASE_BEFORE.search(text, max(0, run_start - _CONTEXT), run_start)
    ):
        return "card"
    return None


def _is_ordinary_number(text: str, groups: list[_Group], seps: list[str], run_start: int) -> bool:
    """A phone-shaped number its shape or context shows is a date, years, amount, quantity or case number."""
    start, end = groups[0].start, groups[-1].end
    before = max(0, start - _CONTEXT)
    if _looks_like_date_or_years(groups, seps) and not _PHONE_BEFORE.search(text, before, start):
        return True  # "tel 2024 2025" is a phone number all the same
    if seps and all(s == "," for s in seps) and all(len(g.digits) == 3 for g in groups[1:]):
        return True  # 23,456,789: thousands
    if len(groups) == 4 and all(s == "." for s in seps) and all(int(g.digits) <= 255 for g in groups):
        return True  # 203.0.113.7: a network address
    if len(groups) == 2 and seps[0] in ".," and groups[0].digits == "0":
        return True  # 0.23456789
    return bool(
        _CURRENCY_BEFORE.search(text, before, start)
        or _CASE_BEFORE.search(text, before, start)
        or _CASE_BEFORE.search(text, max(0, run_start - _CONTEXT), run_start)
        or _UNIT_AFTER.match(text, end)
    )


def _split_run(text: str, start: int, end: int) -> tuple[list[_Group], list[str]]:
    groups = [_Group(m.group(), m.start(), m.end()) for m in _GROUP.finditer(text, start, end)]
    seps = [text[a.end : b.start] for a, b in zip(groups, groups[1:], strict=False)]
    return groups, seps


def _numbers_in_run(text: str, start: int, end: int) -> _Found:
    """The phone and card numbers in one run: the whole run if it is one, else the best cover.

    Several numbers in a row ("9123 4567 / 2345 6789") are cut where they meet; a number next to
    an ordinary one is cut from it only at a comma, slash, bracket, full stop or double space.
    """
    groups, seps = _split_run(text, start, end)
    whole = _number_kind(text, groups, seps, start)
    if whole:
        yield whole, start, end
        return
    if len(groups) > _MAX_GROUPS:
        # Longer than three numbers written digit by digit: only its parts between strong
        # separators can hold one (and a hostile run of digits costs no more than reading it).
        cut = 0
        for i, sep in enumerate(seps + [","]):
            if _STRONG_SEP.search(sep):
                if i + 1 - cut <= _MAX_GROUPS:
                    yield from _cover(text, groups[cut : i + 1], seps[cut:i], start)
                cut = i + 1
        return
    yield from _cover(text, groups, seps, start)


_MAX_GROUPS = 48


def _cover(text: str, groups: list[_Group], seps: list[str], run_start: int) -> _Found:
    start = run_start
    n = len(groups)
    if n < 2:
        if n == 1 and groups[0].start != run_start:
            kind = _number_kind(text, groups, seps, run_start)
            if kind:
                yield kind, groups[0].start, groups[0].end
        return
    # Dynamic programming over the groups, right to left, maximising the digits covered by
    # numbers. after_number[i]: the best for groups[i:] when a number ended just before group i
    # (or i is 0); after_ordinary[i]: when group i-1 was left as ordinary text. A number and an
    # ordinary group meet only at a strong separator. Each group starts at most a few candidate
    # numbers (of up to _MAX_NUMBER digits), so this stays linear in the run's length.
    Cover = tuple[int, tuple[tuple[int, int, str], ...]]  # digits covered, (first group, end group, kind)s
    none: Cover = (0, ())
    after_number: list[Cover | None] = [None] * n + [none]
    after_ordinary: list[Cover] = [none] * (n + 1)
    for i in range(n - 1, -1, -1):
        strong_before = i == 0 or bool(_STRONG_SEP.search(seps[i - 1]))
        numbers: list[Cover] = []
        digits = 0
        for j in range(i + 1, n + 1):
            digits += len(groups[j - 1].digits)
            if digits > _MAX_NUMBER:
                break
            rest = after_number[j]
            if rest is not None and digits >= 7:
                kind = _number_kind(text, groups[i:j], seps[i : j - 1], start)
                if kind:
                    numbers.append((digits + rest[0], ((i, j, kind),) + rest[1]))
        leave = [after_ordinary[i + 1]]
        after_number[i] = max(numbers + (leave if strong_before else []), key=lambda o: o[0], default=None)
        after_ordinary[i] = max(leave + (numbers if strong_before else []), key=lambda o: o[0])
    best = after_number[0]  # never None: before the first group, leaving it is always a choice
    for i, j, kind in best[1] if best is not None else ():
        yield kind, groups[i].start, groups[j - 1].end


# Digits spelled out in English ("nine one two three four five six seven"), as someone writes a
# number to slip it past a filter: seven or more digit words in a row.
_DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_DIGIT_WORD = rf"(?i:{'|'.join(_DIGIT_WORDS)})(?![A-Za-z])"
_SPELLED_NUMBER = re.compile(rf"{_DIGIT_WORD}(?:[ \t,\-]{{1,3}}{_DIGIT_WORD}){{6,}}")


def _spelled_numbers(text: str) -> _Found:
    for m in _SPELLED_NUMBER.finditer(text):
        if _glued_to_a_code(text, m.start()):
            continue  # inside a word ("someone two three ...") or glued to one
        digits = "".join(_DIGIT_WORDS[w.lower()] for w in re.findall("[A-Za-z]+", m.group()))
        if _phone_kind(digits, False)[0]:
            yield "phone", m.start(), m.end()
        elif _card(digits):
            yield "card", m.start(), m.end()


_PREFIX_MARKS = re.compile(r"(?:[(\[][ \t]?\+?|\+)[ \t]?\Z")


def _numbers(text: str) -> _Found:
    for m in _RUN.finditer(text):
        if _glued_to_a_code(text, m.start()):
            continue
        for kind, start, end in _numbers_in_run(text, m.start(), m.end()):
            if kind == "phone" and start == m.start():  # the "+" or "(" of "+852" and "(010)" too
                marks = _PREFIX_MARKS.search(text, max(0, start - 4), start)
                if marks and (")" in text[start:end] or "]" in text[start:end]):
                    start = marks.start()
                elif marks and "+" in marks.group():
                    start = marks.start() + marks.group().index("+")
            yield kind, start, end


# --- HKID and passports -----------------------------------------------------------------------

# Between the parts of an identity or passport number: a space, hyphen, dot, slash or underscore.
_ID_GAP = "[ \t\\-\u2010-\u2015._/]{0,2}"
_ID_DIGITS = rf"[0-9](?:{_ID_GAP}[0-9])"
_HKID = re.compile(
    r"(?:(?<![A-Za-z0-9])|(?<=[Hh][Kk][Ii][Dd])|(?<=[Ii][Dd]))"
    rf"(?P<letters>[A-Za-z]{{1,2}}){_ID_GAP}(?P<digits>{_ID_DIGITS}{{5}}){_ID_GAP}"
    # A word may follow straight on ("A1234563thx"), a capital or a digit would make it a code.
    r"(?:(?P<open>[(\[])[ \t]?(?P<bracketed>[0-9Aa])[ \t]?[)\]]?|(?P<check>[0-9Aa]))(?![A-Z0-9])(?![a-z][0-9])"
)


def _hkid_check_ok(letters: str, digits: str, check: str) -> bool:
    letters = letters.upper()
    values = [36] if len(letters) == 1 else []  # a single letter counts as a leading space (36)
    values += [ord(c) - 55 for c in letters]  # A=10 ... Z=35
    values += [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=False))
    remainder = total % 11
    expected = 0 if remainder == 0 else 11 - remainder
    return check.upper() == ("A" if expected == 10 else str(expected))


# Words that look like an HKID's two letters ("In 7/10/2017"): without a bracketed check digit,
# a valid check digit after them is a coincidence one time in eleven.
_TWO_LETTER_WORDS = frozenset("in on at to no of is it by or an as be do go he me my so up us we if am".split())
_SIX_DIGITS = re.compile(rf"{_ID_DIGITS}{{5}}")


def _hkids(text: str) -> _Found:
    if not _SIX_DIGITS.search(text):
        return
    for m in _HKID.finditer(text):
        # Written with a bracketed check digit it is an HKID even if mistyped; without the
        # bracket, only a valid check digit tells it apart from a product or case number.
        letters = m.group("letters")
        if m.group("open") or (
            (letters.isupper() or letters.lower() not in _TWO_LETTER_WORDS)
            and _hkid_check_ok(letters, re.sub("[^0-9]", "", m.group("digits")), m.group("check"))
        ):
            yield "hkid", m.start(), m.end()


# Mainland resident identity cards: region, date of birth, sequence and an ISO 7064 check (0-9 or
# X), 18 characters that cannot be anything else when the check holds; after words saying so,
# whatever the check.
_MAINLAND_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9][0-9]{5}[ \-]?(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[ \-]?[0-9]{3}"
    r"[0-9Xx](?![0-9A-Za-z])"
)
_MAINLAND_ID_WORD_BEFORE = re.compile(r"(?:身份證|身份证|身分證|(?i:\bid\b))[^0-9]{0,12}\Z")


def _mainland_id_check_ok(number: str) -> bool:
    digits = re.sub("[^0-9Xx]", "", number)
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(digits[:17]))
    return "10X98765432"[total % 11] == digits[17].upper()


def _mainland_ids(text: str) -> _Found:
    for m in _MAINLAND_ID.finditer(text):
        if _mainland_id_check_ok(m.group()) or _MAINLAND_ID_WORD_BEFORE.search(text, max(0, m.start() - 20), m.start()):
            yield "id_card", m.start(), m.end()


# After words saying it is one, an HKID is often written without its check digit: "HKID A123456".
_HKID_WORD = re.compile(
    r"(?:(?<![A-Za-z])(?i:hkid|hkic|hk[ \t]?id(?:[ \t]card)?|id[ \t]?card|identity[ \t]card|id)|身份證|身份证|身分證|身分证)"
    + r"(?:[ \t:：#=\-.,(]|(?i:no|number|num|is|was)(?![A-Za-z])|號碼|号码|號|号|是|係|为|為){0,8}"
    + rf"(?P<number>(?!(?i:no)[^A-Za-z])[A-Za-z]{{1,2}}{_ID_GAP}{_ID_DIGITS}{{5}})(?![A-Z0-9])(?![a-z][0-9])"
)


def _hkids_after_words(text: str) -> _Found:
    for m in _HKID_WORD.finditer(text):
        yield "hkid", *m.span("number")


# HKSAR passports (H or K and eight digits), Mainland ones (E and eight digits, or E, a letter
# and seven): recognisable alone. Any other country's number only after a word saying so.
_PASSPORT = re.compile(
    rf"(?<![A-Za-z0-9])(?:[HhKkEe]{_ID_GAP}{_ID_DIGITS}{{7}}|[Ee]{_ID_GAP}[A-Za-z]{_ID_GAP}{_ID_DIGITS}{{6}})"
    rf"(?![A-Z0-9])(?![a-z][0-9])(?!{_ID_GAP}[0-9])"
)
# What may stand between a word and the number it names: "No.: ", " number is ", "號碼："...
_FILLER = (
    r"(?:[ \t:：#=\-.,(]|(?i:no|number|num|is|was|to)(?![A-Za-z])|號碼|号码|編號|编号|號|号|是|係|为|為|去|至|到|入"
    r"){0,8}"
)
_PASSPORT_WORD = re.compile(
    r"(?:(?<![A-Za-z])(?i:passport|travel[ \t]+document|pp(?=[ \t.]*(?:no|number|#)))|護照|护照|通行證|通行证|回鄉證|回乡证|旅行證件|旅行证件)"
    + _FILLER
    + rf"(?P<number>[A-Za-z]{{0,2}}{_ID_GAP}[0-9](?:[ \-]?[0-9]){{4,13}}[A-Za-z]?)(?![A-Za-z0-9])"
)


def _passports(text: str) -> _Found:
    for m in _PASSPORT.finditer(text):
        yield "passport", m.start(), m.end()
    for m in _PASSPORT_WORD.finditer(text):
        yield "passport", *m.span("number")


# --- bank accounts and dates of birth: numbers the words before them name ----------------------

_ACCOUNT_WORD = re.compile(
    r"(?:(?<![A-Za-z])(?i:(?:bank[ \t]+)?(?:account|a/c|acct|acc(?=[ \t.]*(?:no|number|#)))|iban)|戶口|户口|賬戶|帳戶|账户|帐户|賬號|帳號|账号|帐号"
    r"|銀行|银行|入數|入数|過數|过数|轉賬|转账|轉帳|转帐|存入"
    # banks' names: "HSBC 012-345678-001", "匯豐 ..."
    r"|(?<![A-Za-z])(?i:hsbc|hang seng|boc|bochk|bank of china|standard chartered|bea|bank of east asia|dbs|citi|citibank"
    r"|icbc|dah sing|citic|chong hing|cmb|wing lung|ocbc|fubon|public bank|shanghai commercial)(?![A-Za-z])"
    r"|匯豐|汇丰|滙豐|恒生|恆生|中銀|中银|渣打|東亞|东亚|星展|花旗|工銀|工银|建行|交通銀行|交通银行|大新|南商|中信|創興|创兴|招商|永隆|華僑|华侨|富邦|大眾|大众)"
    + _FILLER
    # "(004) 123456789": the bank's code in brackets first
    + r"(?P<number>(?:\([ \t]?[0-9]{3}[ \t]?\)[ \t\-]?)?"
    + r"[0-9](?:(?:[ \t]{0,2}[\-\u2010-\u2015.][ \t]{0,2}|[ \t]{1,2})?[0-9]){5,19})(?![0-9])"
)


def _bank_accounts(text: str) -> _Found:
    for m in _ACCOUNT_WORD.finditer(text):
        start, end = m.span("number")
        if not (_CURRENCY_BEFORE.search(text, max(0, start - _CONTEXT), start) or _UNIT_AFTER.match(text, end)):
            yield "bank_account", start, end


_MONTH = (
    r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?(?![A-Za-z])"
)
_ZH_DATE_NUMERAL = "[0-9零〇一二三四五六七八九十廿卅]"
_D = r"[0-9]{1,2}(?:[ \t]?(?i:st|nd|rd|th))?"
_Y = r"[0-9]{4}"
_S = r"(?:[ \t]{0,2}[/.\-\u2010-\u2015][ \t]{0,2}|[ \t]{1,2})"
_BIRTH_DATE = (
    rf"(?:{_Y}{_S}[0-9]{{1,2}}{_S}[0-9]{{1,2}}"  # 1985-03-15
    rf"|[0-9]{{1,2}}{_S}[0-9]{{1,2}}{_S}(?:{_Y}|[0-9]{{2}})"  # 15/03/1985, 15.3.85
    rf"|{_D}(?:[ \t]+of)?[ \t,\-]*{_MONTH}(?:[ \t,\-]*{_Y})?"  # 15th of March 1985
    rf"|{_MONTH}[ \t,\-]*{_D}(?:,?[ \t]*{_Y})?"  # March 15, 1985
    rf"|{_ZH_DATE_NUMERAL}{{2,4}}[ \t]?年[ \t]?{_ZH_DATE_NUMERAL}{{1,2}}[ \t]?月(?:[ \t]?{_ZH_DATE_NUMERAL}{{1,3}}[ \t]?[日號号])?"
    rf"|{_ZH_DATE_NUMERAL}{{1,2}}[ \t]?月[ \t]?{_ZH_DATE_NUMERAL}{{1,3}}[ \t]?[日號号]?"
    rf"|[0-9]{{8}}"  # 19850315
    rf"|{_MONTH}[ \t,]*{_Y}|(?:19|20)[0-9]{{2}}(?:[ \t]?年)?)(?![0-9])"  # March 1985; born in 1985
)
_BIRTH_WORD = re.compile(
    r"(?:(?<![A-Za-z])(?i:d\.?[ \t]?o\.?[ \t]?b|date[ \t]+of[ \t]+birth|birth[ \t]?date|birth[ \t]?day|b-?day"
    r"|born(?:[ \t]+(?:on|in))?)(?![A-Za-z])\.?"
    r"|出生日期|出生年月日|出生於|出生于|出生|出世日期|出世紙日期|出世纸日期|出世紙|出世纸|出世|生日|生於|生于)"
    r"(?:[ \t:：=\-]|(?i:is|was|on|the)(?![A-Za-z])|是|係|为|為|喺|在|[(（][A-Za-z/.\- 年月日]{2,12}[)）]){0,6}"
    rf"(?P<date>{_BIRTH_DATE})"
)


# A whole date the word after says is a birth ("我1988年7月21日出世"); a year alone is not
# enough there ("2024年出生的嬰兒" counts babies), nor is a rate or a count of births.
_BIRTH_DATE_BEFORE_WORD = re.compile(
    rf"(?P<date>{_Y}{_S}[0-9]{{1,2}}{_S}[0-9]{{1,2}}|[0-9]{{1,2}}{_S}[0-9]{{1,2}}{_S}(?:{_Y}|[0-9]{{2}})"
    rf"|{_ZH_DATE_NUMERAL}{{2,4}}[ \t]?年[ \t]?{_ZH_DATE_NUMERAL}{{1,2}}[ \t]?月[ \t]?{_ZH_DATE_NUMERAL}{{1,3}}[ \t]?[日號号])"
    r"(?![0-9])[ \t]?(?:出世|出生)(?!率|人|數|数|登記|登记|嬰|婴|的嬰|的婴)"
)


def _birth_dates(text: str) -> _Found:
    for m in _BIRTH_WORD.finditer(text):
        yield "birth_date", *m.span("date")
    if "出" in text:
        for m in _BIRTH_DATE_BEFORE_WORD.finditer(text):
            yield "birth_date", *m.span("date")


# --- e-mail -----------------------------------------------------------------------------------

# A label is all Latin (ASCII and accented letters, digits, hyphens) or all another script, so an
# address typed straight into Chinese text ("請電郵至chan@example.com謝謝") stops where the
# Latin part stops.
_LATIN = "A-Za-z0-9\u00c0-\u024f"
_LATIN_LABEL = rf"[{_LATIN}](?:[{_LATIN}\-]{{0,61}}[{_LATIN}])?"
_OTHER_WORD = rf"[^\W_{_LATIN}]"
_OTHER_LABEL = rf"{_OTHER_WORD}{{1,63}}"
_LABEL = rf"(?:{_LATIN_LABEL}|{_OTHER_LABEL})"
# Top-level domains in Chinese: only these end an address ("chan@gmail.com.地铁" ends at "com").
_IDN_TLD = "(?:香港|中國|中国|公司|網絡|网络|台灣|台湾|澳門|澳门|政務|政务|新加坡|在线|移动)"
_AT = r"(?:[ \t]?@[ \t]?|[ \t]*[\[({<][ \t]*(?i:at|@)[ \t]*[\])}>][ \t]*)"
_DOT = r"(?:\.|[ \t]*[\[({<][ \t]*(?i:dot)[ \t]*[\])}>][ \t]*)"
_EMAIL = re.compile(
    # The local part starts where its run of characters starts (also keeps the scan linear).
    rf"(?:(?<![{_LATIN}._%+\-])[{_LATIN}._%+\-]{{1,64}}|(?<!{_OTHER_WORD}){_OTHER_WORD}{{1,64}})"
    rf"{_AT}(?P<domain>{_LABEL}(?:{_DOT}{_LABEL}){{0,8}}{_DOT}(?:[A-Za-z]{{2,63}}|{_IDN_TLD}))(?![{_LATIN}\-])"
)

# Spelled out and spaced: "chan dot taiman at gmail dot com", "chan 在 gmail 點 com",
# "chan＠gmail . com", "CHAN (AT) GMAIL (DOT) COM". Words are no proof, so the domain must end in
# a top-level domain people use here, and the bare word "at" (or 在) needs more (see below).
_TLDS = (
    # Not the two-letter ones that are English words ("... at 2am. no"): no, it, in, me, my, us, be, id, so.
    "com net org edu gov mil int info biz name pro io co tv cc ai app dev xyz online site top club shop "
    "hk cn mo tw sg jp kr uk ca au nz de fr es nl se fi dk ch ie th ph vn eu ru br mx "
    "香港 中國 中国 公司 網絡 网络"
).split()
_SPELLED_AT = (
    r"(?:[ \t]{0,3}[\[({<][ \t]{0,2}(?i:at|@|艾特)[ \t]{0,2}[\])}>][ \t]{0,3}"
    r"|[ \t]{0,3}@[ \t]{0,3}|[ \t]{1,3}(?i:at)[ \t]{1,3}|[ \t]{0,3}(?:艾特|小老鼠|在)[ \t]{0,3})"
)
_SPELLED_DOT = (
    r"(?:[ \t]{0,3}[\[({<][ \t]{0,2}(?i:dot|\.)[ \t]{0,2}[\])}>][ \t]{0,3}"
    r"|[ \t]{0,3}\.[ \t]{0,3}|[ \t]{1,3}(?i:dot)[ \t]{1,3}|[ \t]{0,3}(?:點|点|。)[ \t]{0,3})"
)
# Between the words of a spelled-out local part; never a plain full stop between spaces, which
# ends a sentence ("... in the morning. chan@example.com").
_SPELLED_JOIN = (
    r"(?:[ \t]{0,3}[\[({<][ \t]{0,2}(?i:dot|\.|underscore|dash|hyphen)[ \t]{0,2}[\])}>][ \t]{0,3}"
    r"|[ \t]{1,3}(?i:dot|underscore|under score|dash|hyphen)[ \t]{1,3}|[ \t]{0,3}(?:點|点)[ \t]{0,3})"
)
_LOCAL_WORD = r"[A-Za-z0-9_%+\-](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9_%+\-])?"
_SPELLED_EMAIL = re.compile(
    rf"(?<![A-Za-z0-9._%+\-])(?P<local>{_LOCAL_WORD}(?:{_SPELLED_JOIN}{_LOCAL_WORD}){{0,3}})"
    rf"(?P<at>{_SPELLED_AT})"
    rf"(?P<domain>{_LATIN_LABEL}(?:{_SPELLED_DOT}{_LATIN_LABEL}){{0,5}}{_SPELLED_DOT}"
    # In lower or upper case: "... gov.hk. My mother" ends at "hk", not at the word "My".
    # A word glued after it ("gmail.comthx") does not hide the address.
    rf"(?P<tld>{'|'.join(sorted(_TLDS + [t.upper() for t in _TLDS if t.isascii()], key=len, reverse=True))}))"
    rf"(?:(?![{_LATIN}\-])|(?=thx|thanks|pls|plz))"
)
# Mail services residents use: "chan at gmail.com" is an address whatever the words around it.
_MAIL_SERVICES = frozenset(
    "gmail googlemail yahoo ymail hotmail outlook live msn icloud me mac aol protonmail proton gmx qq foxmail 163 126 "
    "yeah sina sohu aliyun netvigator hkbn biznetvigator i-cable hkstar pacific ctimail".split()
)
# Words that come before "at" in ordinary sentences ("look at example.com"): not a local part.
_NOT_LOCAL = frozenset(
    """look looks looked looking arrive arrived arrives stay stayed staying live lives lived living work works worked
    working meet met staff us me him her them it this that here there online website site page more is are was were be
    been and or but not only also just still office shop centre center counter available found posted published listed
    shown hosted based located held open opened closed registered apply applied book booked buy bought pay paid order
    download visit visited see seen read check find go went come came get got sold tickets info information details
    study studied studying student students teach taught school university anyone someone everyone people them all
    tickets ticket queue queued queuing wait waited waiting sign signed arrive arrives news posts post sale sales
    discount discounts offer offers event events talk talks held launch launched free fee fees price prices""".split()
)
_EMAIL_HINT = re.compile(r"@|(?i:[ \[({<]at[ \])}>]|dot)|在|艾特|小老鼠|點|点")
_AT_DOT_FORM = re.compile(rf"{_SPELLED_DOT}|{_DOT}")


def is_official_domain(domain: str) -> bool:
    """The Government's own mail domains (gov.hk and its subdomains): published official contacts."""
    domain = _AT_DOT_FORM.sub(".", domain).strip().lower().rstrip(".")
    return domain == "gov.hk" or domain.endswith(".gov.hk")


def _spelled_email_ok(text: str, m: re.Match[str]) -> bool:
    at = m.group("at").strip().lower()
    if at not in ("at", "在"):
        return True  # "@", "(at)", "[at]", 艾特: nobody writes these by chance
    local = m.group("local")
    if at == "在" and not local.isascii():
        return False
    if m.group("domain")[:4].lower() == "www.":
        return False  # "watches at www.example.com": a link, not an address
    domain = _AT_DOT_FORM.split(m.group("domain"))[0].lower()
    if domain in _MAIL_SERVICES or re.search(r"[0-9._\-]|dot", local, re.I):
        return True
    return local.lower() not in _NOT_LOCAL


def _emails(text: str) -> _Found:
    if not _EMAIL_HINT.search(text):
        return  # most texts have no "@" at all; the full patterns are slower to rule out
    for m in _EMAIL.finditer(text):
        if not is_official_domain(m.group("domain")):
            yield "email", m.start(), m.end()
    pos = 0
    while spelled := _SPELLED_EMAIL.search(text, pos):
        if _spelled_email_ok(text, spelled):
            if not is_official_domain(spelled.group("domain")):
                yield "email", spelled.start(), spelled.end()
            pos = spelled.end()
        else:  # "reach me at chan@...": the words were no address, the next may start inside them
            pos = spelled.start() + 1


# --- addresses --------------------------------------------------------------------------------

# Each part is its own pattern starting with a character class, so the regex engine can skip
# ahead to candidate characters (one alternation of all parts is several times slower); the
# "not glued to a letter before" checks therefore come after the first character.
_WORD = r"[A-Za-z][A-Za-z'’.\-]{0,20}"
# A flat or room: 12, 12B, B12, or a letter alone after a space ("flat b", not "flats").
_UNIT_ID = r"(?:[0-9]{1,4}[A-Za-z]?|[A-Za-z][0-9]{1,4}|(?<=[ \t.])[A-Za-z])(?![A-Za-z0-9])"
_AFTER_NON_LETTER = r"(?<![A-Za-z].)"
_EN_PARTS = [
    # 12 Nathan Road, 12-14 Queen's Road Central, 3A Kent Rd., 12 nathan road
    (
        "street",
        re.compile(
            r"[0-9](?<![A-Za-z0-9/][0-9])[0-9]{0,3}[A-Za-z]?(?:[ \t]?[-–][ \t]?[0-9]{1,4}[A-Za-z]?)?,?[ \t]+"
            rf"(?P<name>(?:{_WORD}[ \t]+){{0,3}}{_WORD})[ \t]+"
            r"(?P<suffix>(?i:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Path|Drive|Dr|Terrace|Crescent|Circuit|Boulevard"
            r"|Blvd|Highway|Hwy|Rise|Walk|Way|Square|Sq|Place|Pl|Praya|Close))(?:(?![A-Za-z])|(?=thx|thanks|pls|plz))\.?"
            r"(?:[ \t]+(?i:East|West|North|South|Central)(?![A-Za-z]))?"
        ),
    ),
    ("flat", re.compile(rf"[Ff]{_AFTER_NON_LETTER}(?i:lat|lt)\.?[ \t]?{_UNIT_ID}")),
    ("flat", re.compile(rf"[Hh]{_AFTER_NON_LETTER}(?i:ouse)[ \t]?(?:[Nn]o\.?[ \t]?)?{_UNIT_ID}")),  # a village house
    ("flat", re.compile(r"[Ll](?<![A-Za-z].)(?i:ot)\.?[ \t]?(?:[Nn]o\.?[ \t]?)?[0-9]{1,5}[A-Za-z]?(?![A-Za-z0-9])")),
    ("block", re.compile(r"[Dd](?<![A-Za-z].)(?i:\.?[ \t]?d)\.?[ \t]?[0-9]{1,3}(?![A-Za-z0-9])")),  # Lot 100, DD 1
    (
        "room",
        re.compile(
            rf"[RrUuSsOo]{_AFTER_NON_LETTER}(?i:(?<=r)oom|(?<=r)m|(?<=u)nit|(?<=s)uite|(?<=s)hop|(?<=o)ffice)"
            rf"\.?[ \t]?{_UNIT_ID}"
        ),
    ),
    (
        "floor",
        re.compile(
            r"[0-9GLUMglum](?<![A-Za-z0-9].)(?:(?<=[0-9])[0-9]{0,2}|(?<=[LUlu])[Gg]|)[ \t]?/[ \t]?(?i:fl?)\.?(?:(?![A-Za-z])|(?=[A-Za-z][ \t]?室))"
        ),
    ),
    (
        "floor",
        re.compile(r"[0-9](?<![A-Za-z0-9][0-9])[0-9]{0,2}(?:(?i:st|nd|rd|th))?[ \t]+(?i:floor|flr|fl)\.?(?![A-Za-z])"),
    ),
    (
        "floor",
        re.compile(
            rf"[GgUuLl]{_AFTER_NON_LETTER}(?i:(?<=g)round|(?<=u)pper ground|(?<=l)ower ground)[ \t]+(?i:floor)(?![A-Za-z])"
        ),
    ),
    (
        "block",
        re.compile(
            rf"[BbTtPp]{_AFTER_NON_LETTER}(?i:(?<=b)lock|(?<=b)lk|(?<=t)ower|(?<=p)hase)\.?[ \t]?(?:[0-9]{{1,3}}[A-Za-z]?|[A-Za-z])"
            r"(?![A-Za-z0-9])"
        ),
    ),
]
# Estates and buildings are found from the word that ends their name (one scan for all), then the
# up to three words before it: a pattern starting at every letter would cost most of the masking.
_NAMED_PLACE = re.compile(
    r"(?<![A-Za-z])(?:(?P<estate>(?i:estate|court|mansions?|gardens?|villas?|heights|lodge|chuen|tsuen|village|wai))"
    r"|(?P<building>(?i:building|bldg|house|centre|center|plaza|tower)))(?![A-Za-z])"
)
_NAME_BEFORE = re.compile(r"(?<![A-Za-z0-9'’\-/])(?:[A-Za-z][A-Za-z'’\-]{1,20}[ \t]+){1,3}\Z")
_NUMBER_AFTER = re.compile(r"[ \t]?(?:[Nn]o\.?[ \t]?)?[0-9]")
# Words that are not part of a street or building name ("5 minutes down the road", "my house"; the
# unit words, so "1st floor kam fung house" names Kam Fung House, not "floor kam fung house");
# not the English words that are also Cantonese syllables of names (To Kwa Wan, So Uk, On Ting).
_NOT_NAME_WORDS = frozenset(
    """the a an of in at by for from with down up along across off over this that these those my our your his
    her their its and or near next via into onto minutes mins min hours hrs km metres meters more less other same
    every each whole many few some all new big small old busy same very then there here is are was were be
    public private community shopping sports health care government house building centre center plaza tower estate
    court village floor flr fl room rm flat unit block blk""".split()
)
# Common words that end street names only when the name is written with capitals (Sun Walk).
_LOWER_CASE_AMBIGUOUS = frozenset("walk way rise place close pl dr".split())


def _street_kind(m: re.Match[str]) -> str | None:
    """ "street"; "lane" for a lower-case name ending in a common word (1 wah path), an address
    only beside a flat or floor; None when ordinary words make the name."""
    words = m.group("name").split()
    if any(w.lower().strip("'’.") in _NOT_NAME_WORDS for w in words):
        return None
    return "lane" if m.group("suffix").lower() in _LOWER_CASE_AMBIGUOUS and not words[0][0].isupper() else "street"


def _named_places(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, "estate" or "building") for "Wah Fu Estate", "kam fung house" ...: the name
    is the words before, ordinary words at its start dropped; none left, no place."""
    for m in _NAMED_PLACE.finditer(text):
        if _NUMBER_AFTER.match(text, m.end()):
            continue  # "house 1", "tower 3": a unit of an address, found as such
        name = _NAME_BEFORE.search(text, max(0, m.start() - 66), m.start())
        if not name:
            continue
        for word in re.finditer(r"\S+", name.group()):
            if word.group().lower() not in _NOT_NAME_WORDS:
                yield name.start() + word.start(), m.end(), "estate" if m.group("estate") else "building"
                break


# Chinese place names: characters that end a name are function words and verbs that come before
# an address ("我住在彌敦道…") and the first halves of common words ending in 道/路 (知道, 網路).
_ZH_STOP = (
    "在住於是的到往去近及與由我你他她們向從至經位沿係喺為請或而也都就要可將把被給對知報頻味管渠軌跑思出網"
    # the same in Simplified, and words that end a clause written straight against an
    # address ("希望政府盡快回覆華富邨…")
    "于与们从经为请将给对报频网覆复回还这那么呢吗嗎吧啊了過过見见謝谢說说講讲話话問问題题燈灯讓让跟"
)
_ZH_NAME = rf"[^\W\d_{_LATIN}{_ZH_STOP}]"
# An estate or building name does not run across another estate or building ("彩虹邨金漢樓").
_ZH_BUILDING_NAME = rf"[^\W\d_{_LATIN}{_ZH_STOP}邨村苑閣阁軒轩居樓楼廈厦號号室座層层]"
_ZH_NUMERAL = "一二三四五六七八九十百零〇"
_ZH_PARTS = [
    # 彌敦道123號, 皇后大道中99號, 青山公路一百號; not 960號巴士 or 8號風球
    (
        "street",
        re.compile(
            rf"{_ZH_NAME}{{1,6}}(?:大道|道|街|路|里|徑|径|巷|坊|圍|围|村)[東南西北中东]?[ \t]?"
            rf"(?:[0-9]{{1,4}}[A-Za-z]?(?:[-至][0-9]{{1,4}}[A-Za-z]?)?|[{_ZH_NUMERAL}]{{1,6}})[ \t]?[號号]"
            r"(?!巴士|小巴|線|线|车|車|風球|风球|房)"
        ),
    ),
    ("floor", re.compile(rf"(?:[0-9]{{1,3}}|[{_ZH_NUMERAL}]{{1,3}})[ \t]?字?[樓楼層层](?![宇梯價价市盤盘面高])")),
    # a house number before a floor, the place named without 道 or 村 (錦田1號1樓)
    (
        "street",
        re.compile(
            rf"(?:[0-9]{{1,4}}[A-Za-z]?|[{_ZH_NUMERAL}]{{1,4}})[ \t]?[號号]"
            rf"(?=[ \t]?(?:(?:[0-9]{{1,3}}|[{_ZH_NUMERAL}]{{1,3}})[ \t]?字?[樓楼層层]|[0-9]{{1,3}}[ \t]?/[ \t]?[Ff]))"
        ),
    ),
    ("room", re.compile(rf"(?:[0-9]{{1,4}}[A-Za-z]?|[A-Za-z]|[{_ZH_NUMERAL}]{{1,5}})[ \t]?[號号]?室")),
    # a block, and the flat written straight after it without 室 (2座1505)
    (
        "block",
        re.compile(
            rf"(?:[0-9]{{1,3}}[A-Za-z]?|[A-Za-z]|[{_ZH_NUMERAL}]{{1,3}})[ \t]?[座棟栋幢](?![位椅談谈])"
            r"(?:[ \t]?[0-9]{3,4}[A-Za-z]?(?![0-9]))?"
        ),
    ),
    ("block", re.compile(rf"(?:[0-9]{{1,2}}|[{_ZH_NUMERAL}]{{1,2}})[ \t]?期(?![間间刊限望])")),
    ("estate", re.compile(rf"{_ZH_BUILDING_NAME}{{1,5}}(?:邨|村|苑|花園|花园|山莊|山庄|閣|阁|軒|轩|居|豪庭|城|台)")),
    (
        "building",
        re.compile(rf"{_ZH_BUILDING_NAME}{{1,6}}(?:大廈|大厦|大樓|大楼|中心|廣場|广场|樓|楼)(?![宇梯價价市盤盘面高])"),
    ),
]
# Every Chinese part ends in one of these; the Chinese patterns run only near them, since
# patterns that start with "any Chinese character" would otherwise be tried everywhere.
_ZH_TRIGGER = re.compile("[道街路里徑径巷坊圍围號号樓楼層层室座棟栋幢期邨村苑園园莊庄閣阁軒轩居庭廈厦心場场城台]")
_ZH_WINDOW_BEFORE, _ZH_WINDOW_AFTER = 24, 16

_PART_GAP = re.compile(r"[ \t,第]*(?:(?i:no)\.?[ \t]*)?")
# A street "number" after these words is a route, an exit or a section, not a house number.
_NOT_HOUSE_NUMBER_BEFORE = re.compile(
    r"(?<![A-Za-z])(?i:routes?|bus|buses|minibus|minibuses|lines?|flight|exit|gate|platform|phase|stage"
    r"|chapter|section|item|paragraph)[ \t]*\Z"
)
_NUMBER_SIGN_BEFORE = re.compile(r"(?<![A-Za-z])(?i:no)\.?[ \t]?\Z")


def _is_house_number(text: str, start: int, end: int) -> bool:
    digits = re.match(r"[0-9]+", text[start:end])  # a street's match starts with its number
    number = int(digits.group()) if digits else 0
    before = max(0, start - _CONTEXT)
    if 1900 <= number <= 2099 and not _NUMBER_SIGN_BEFORE.search(text, before, start):
        return False  # "In 2024 Tuen Mun Road was closed"
    return not _NOT_HOUSE_NUMBER_BEFORE.search(text, before, start)


def _zh_windows(text: str) -> Iterator[tuple[int, int]]:
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
    parts: list[tuple[int, int, str]] = []
    for kind, pattern in _EN_PARTS:
        for m in pattern.finditer(text):
            start = m.start()
            found = kind  # per match: one street's kind must not carry over to the next street
            if kind == "street":
                street = _street_kind(m) if _is_house_number(text, m.start(), m.end()) else None
                if not street:
                    continue
                found = street
            parts.append((start, m.end(), found))
    parts.extend(_named_places(text))
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


# Words saying that what follows is where someone lives: then any flat, room, floor or block is.
_RESIDENCE_BEFORE = re.compile(
    r"(?:(?<![A-Za-z])(?i:(?:live|lives|lived|living|reside|resides|residing|stay|stays|staying)[ \t]+(?:at|in)"
    r"|(?:my|our|home|postal|mailing|correspondence)[ \t]+address(?:[ \t]+is)?|address|home|send[ \t]+(?:it[ \t]+)?to"
    r"|deliver(?:ed)?[ \t]+to|we[ \t]+are[ \t]+at)"
    r"|住在|住喺|住係|我住|地址|住址|寄去|寄到|送到|屋企喺|家在|家住)[ \t:：,]*\Z"
)


def _is_personal_address(kinds: set[str], where_someone_lives: bool = False) -> bool:
    units = kinds & {"flat", "room", "floor", "block"}
    return bool(
        (where_someone_lives and units)
        or "street" in kinds
        or ("lane" in kinds and units)
        or ("flat" in kinds and len(kinds) > 1)
        or {"block", "floor"} <= kinds
        or ("estate" in kinds and units)
        or ("building" in kinds and {"room", "floor"} <= kinds)
    )


_PLACE_AFTER = re.compile(rf"[ \t]*,[ \t]*[A-Za-z{HAN_RANGES}]")
_BARE_UNIT_BEFORE = re.compile(
    r"(?<![A-Za-z0-9.$/])(?:[0-9]{1,4}[A-Za-z][ \t]*,?|[0-9]{3,4}[ \t]*,?|[0-9]{1,2}[ \t]*,)[ \t]*\Z"
)


def _addresses(text: str) -> _Found:
    chains: list[tuple[int, int, set[str]]] = []
    for start, end, kind in _address_parts(text):
        if chains and _PART_GAP.fullmatch(text, chains[-1][1], start):
            chains[-1] = (chains[-1][0], end, chains[-1][2] | {kind})
        else:
            chains.append((start, end, {kind}))
    for start, end, kinds in chains:
        unit = _BARE_UNIT_BEFORE.search(text, max(0, start - 12), start)
        if unit and "floor" in kinds:  # "12a, 15/f, block 3": the flat without its word
            start, kinds = unit.start(), kinds | {"flat"}
        lives = bool(_RESIDENCE_BEFORE.search(text, max(0, start - _CONTEXT), start))
        if kinds <= {"flat"} and _PLACE_AFTER.match(text, end):
            kinds = kinds | {"place"}  # "house 1, pak sha wan": a unit, then the place it is in
        if _is_personal_address(kinds, lives):
            yield "address", start, end


# --- names with a title -----------------------------------------------------------------------

# Common Hong Kong and Mainland surnames, Traditional and Simplified. Left out: characters that
# with a title make an ordinary word (司機先生, 任何女士; 司徒 and 司馬 stay as compounds).
_SURNAMES = (
    "陳陈李張张黃黄何林吳吴劉刘蔡楊杨梁鄭郑王謝谢郭曾羅罗周馮冯鄧邓朱胡葉叶蘇苏許许潘盧卢馬马彭余袁莫麥麦鍾钟"
    "區区譚谭岑趙赵孫孙徐高鄒邹溫温石江方程姚傅沈丁韓韩施簡简陸陆唐崔賴赖嚴严龍龙魏薛雷范戴宋武萬万黎盛孔毛"
    "侯翁杜邱駱骆姜蔣蒋廖游凌文關关康阮伍湯汤衛卫歐欧夏田董洪苗翟甘柯段冼祁尹尤熊白金鄺邝邵秦史饒饶鄔邬"
    "練练連连殷郝鮑鲍陶霍蕭萧俞顏颜邢伍利姚車车巫鄘"
    "呂吕魯鲁韋韦汪賈贾孟閻阎賀贺龔龚錢钱覃牛樊葛齊齐喬乔龐庞倪莊庄聶聂岳詹耿焦祝舒紀纪畢毕裴塗涂冉藍蓝靳喻蒲滕"
    "牟穆繆缪褚婁娄竇窦費费晏瞿佟臧閔闵苟卞姬仇欒栾隋刁寇桑甄仲虞敖鞏巩佘遲迟匡鞠荊荆冀郁胥儲储栗鄢諶谌奚粟藺蔺"
    "闞阚屠樸朴禹漆卿狄芮闕阙邸雍辜裘邰赫杭逯茹嵇湛戎茅揭昝任向易章谷季梅童顧顾植容勞劳古丘屈蒙戚成官帥帅邊边甯寧宁石區"
)
_COMPOUND_SURNAMES = (
    "歐陽|欧阳|司徒|司馬|司马|上官|諸葛|诸葛|東方|东方|皇甫|尉遲|尉迟|公孫|公孙|慕容|令狐|夏侯|端木|西門|西门|長孫|长孙"
    "|宇文|呼延|軒轅|轩辕|鍾離|钟离|申屠|澹臺|澹台"
)
_SURNAME = rf"(?:{_COMPOUND_SURNAMES}|[{_SURNAMES}])"
_HAN = HAN_RANGES
# A surname (two for a married woman's "陳黃"), a given name of up to two characters, a title.
_ZH_NAME_TITLED = re.compile(
    rf"{_SURNAME}{{1,2}}(?:[ \t]?[{_HAN}]{{1,2}}?)?[ \t]?(?:先生|小姐|女士|太太)(?![們们團团])"
)
# "陳生", "李太": only with nothing Chinese before the surname but a word that goes before a
# name (同陳生講), and nothing after but one that goes after it, as 生 and 太 begin many words.
_ZH_NAME_SHORT = re.compile(
    rf"(?:(?<![{_HAN}])|(?<=[同和與与及跟問问叫請请找致給给向對对係是的嘅話话到]))"
    r"[陳陈李張张黃黄何林吳吴劉刘蔡楊杨梁鄭郑王謝谢郭曾羅罗周馮冯鄧邓朱胡葉叶蘇苏許许潘盧卢馬马彭袁莫麥麦鍾钟區区譚谭岑]"
    rf"(?:生|太)(?:(?![{_HAN}])|(?=[話话講讲說说同和與与嘅的係是你您好話都就也]))"
)
# Public officials are named in answers by their office: "局長陳美寶女士", "Secretary ... Mr Lam".
_OFFICE_BEFORE = re.compile(
    r"(?:局長|局长|署長|署长|處長|处长|司長|司长|長官|长官|主席|議員|议员|秘書長|秘书长|專員|专员|總監|总监|發言人|发言人"
    r"|部長|部长|院長|院长|校長|校长|主任|委員|委员)[ \t]?\Z"
    r"|(?<![A-Za-z])(?:Secretary|Director|Commissioner|Chief Executive|Chairman|Chairperson|Chair|Councillor|Hon\.?"
    r"|Controller|Postmaster General|Ombudsman|Spokesman|Spokesperson|Permanent Secretary|Under Secretary|Head|Minister"
    r"|Legislator|Member|President|Principal)\b[^.;!?\n]{0,60}\Z"
)
_AMBIGUOUS_START = ("任何", "如何", "為何", "为何", "幾何", "几何", "無何", "无何", "有何", "何以")
_EN_TITLE = r"(?<![A-Za-z])(?:(?:Mr|Mrs|Ms|Mdm|Dr|Prof|MR|MRS|DR|mr|mrs|ms|mdm|dr)\.?|Miss|Madam|Mister|MISS)[ \t]+"
# Romanised surnames, so that "mr chan" typed in lower case is still a name (and "ms word" not).
_LATIN_SURNAMES = (
    "chan|chen|cheung|chang|wong|wang|huang|lee|li|lau|liu|ng|wu|ho|he|lam|lin|leung|liang|tsang|tang|yeung|yang|"
    "cheng|zheng|kwok|guo|chow|zhou|chu|zhu|lai|fung|feng|law|luo|tse|xie|chiu|zhao|poon|pan|yip|ye|lo|mak|kwan|au|"
    "tam|choi|cai|tsui|hui|xu|siu|kong|ma|yu|ko|lui|sin|chung|man|yuen|pang|sze|ting|koo|fong|chiang|mok|so|yim|"
    "ngai|kam|wan|wai|tong|shum|lok|tai|hung|yan|chui|cho|keung|lum|yiu|to|kwong|tsoi|yung|wu|leong"
)
_EN_NAME_WORD = r"(?:[A-Z][a-z'’]+|[A-Z]{2,})(?:-[A-Za-z][a-z'’]+|-[A-Z]{2,})?(?![A-Za-z])"
_EN_NAME = re.compile(
    _EN_TITLE
    + rf"(?:(?P<first>{_EN_NAME_WORD})(?:[ \t]+{_EN_NAME_WORD}){{0,3}}"
    + rf"|(?:{_LATIN_SURNAMES})(?![A-Za-z])|{_SURNAME}{{1,2}}[{_HAN}]{{0,2}})"
)
# Capitalised words that follow "Madam" or "Mr" without being a name ("Dear Sir or Madam The ...").
_NOT_A_NAME = frozenset(
    """the a an and or but this that these those i we you he she it they my our your his her their please thank thanks
    dear sir madam chairman chair president speaker deputy secretary director could would should can will may might
    must shall do does did is are was were has have had hope also so if when what why how where who which there here in
    on at for from to of by with as yes no hi hello regards sincerely best kind contact call email""".split()
)
_NAME_HINT = re.compile(r"先生|小姐|女士|太太|[生太]|(?i:mr|ms|miss|mdm|madam|mister|dr|prof)")


def _names(text: str) -> _Found:
    if not _NAME_HINT.search(text):
        return
    for pattern in (_ZH_NAME_TITLED, _ZH_NAME_SHORT, _EN_NAME):
        for m in pattern.finditer(text):
            start = m.start()
            if text.startswith(_AMBIGUOUS_START, start):
                continue
            if start and text[start] == "何" and text[start - 1] in "任如為为幾几無无有奈":
                continue
            end = m.end()
            if m.groupdict().get("first"):
                words = list(re.finditer(r"\S+", text[m.start("first") : end]))
                if words[0].group().lower() in _NOT_A_NAME:
                    continue
                # The name ends before a word that starts the next sentence ("Mr Kelvin Chan The MTR").
                cut = next((w for w in words[1:] if w.group().lower() in _NOT_A_NAME), None)
                if cut:
                    end = m.start("first") + words[words.index(cut) - 1].end()
            if not _OFFICE_BEFORE.search(text, max(0, start - 80), start):
                yield "name", start, end


# --- URLs -------------------------------------------------------------------------------------

_URL = re.compile(r"(?:(?<![\w@.])(?i:https?|ftp)://|(?<![\w@./])(?i:www)\.)[^\s<>\"'`\u3000-\u303f\ufe30-\ufe4f]+")
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
    while end > start and (
        text[end - 1] in _URL_TRAILING
        or (text[end - 1] == ")" and text.count("(", start, end) < text.count(")", start, end))
    ):
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
        # A slash ends a number in a link: path segments (/202403/15/) are not one number.
        decoded = _INVISIBLE.sub("", unicodedata.normalize("NFKC", decoded)).replace("/", _BLANK)
        if _detect(_fold_digits(decoded)):
            return True
    return False


def _urls(text: str) -> _Found:
    """Yield ("url", start, end) for personal links and ("link", start, end) for the others."""
    if "://" not in text and "www." not in text.lower():
        return
    for m in _URL.finditer(text):
        end = _url_end(text, m.start(), m.end())
        if end > m.start():
            yield ("url" if _url_is_personal(text[m.start() : end]) else "link"), m.start(), end


# --- the API ----------------------------------------------------------------------------------

# Found by what stands around them (words, letters, an "@"); the digits they hold are then not
# read again as a phone or card number ("A123456(7) / 9123 4567" is an HKID and a phone).
_BLANK = "\x00"  # neither a digit, a letter nor a separator: ends a run of digits


_DIGIT = re.compile("[0-9]")
_BIRTH_HINT = re.compile(
    r"[DdBb出生](?:(?i:(?<=d)ob|(?<=d)\.[ \t]?o|(?<=d)ate of birth|(?<=b)irth|(?<=b)orn|(?<=b)-?day)|(?<=出)[生世]|(?<=生)[日於于])"
)


def _anchored(text: str) -> Iterator[Callable[[str], _Found]]:
    """The detectors worth running on `text`: cheap tests first, as most views hold no number."""
    digits = len(_DIGIT.findall(text))
    yield _emails
    if digits >= 5:
        yield from (_hkids, _hkids_after_words, _mainland_ids, _passports, _bank_accounts)
    if _BIRTH_HINT.search(text):
        yield _birth_dates
    low = text.lower()
    if sum(low.count(word) for word in _DIGIT_WORDS) >= 7:
        yield _spelled_numbers


def _detect(text: str) -> list[tuple[str, int, int]]:
    """Personal data in normalised, digit-folded `text` (links aside), overlaps not yet settled."""
    found = [f for detect in _anchored(text) for f in detect(text)]
    scan = text
    if found:
        chars = list(text)
        for _, start, end in found:
            chars[start:end] = _BLANK * (end - start)
        scan = "".join(chars)
    found.extend(_numbers(scan))
    found.extend(_addresses(text))
    found.extend(_names(text))
    return found


def _with_trailing_invisibles(text: str, start: int, end: int) -> tuple[int, int]:
    """The span, with the invisible characters right after it (a keycap's marks after its digit)."""
    while end < len(text) and _INVISIBLE.match(text, end):
        end += 1
    return start, end


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
    folded = _fold_digits(norm.text)
    found: list[tuple[str, int, int]] = []
    links: list[tuple[int, int]] = []
    for kind, start, end in _urls(folded):
        if kind == "link":
            links.append((start, end))
        else:
            found.append((kind, start, end))
    found.extend(_detect(folded))
    # Nothing inside an ordinary link is masked: by the rule above it holds no personal data,
    # and a half-masked link would no longer work.
    if links:
        link_starts = [start for start, _ in links]

        def inside_link(start: int, end: int) -> bool:
            i = bisect.bisect_right(link_starts, start) - 1
            return i >= 0 and end <= links[i][1]

        found = [f for f in found if f[0] == "url" or not inside_link(f[1], f[2])]
    findings = [
        Finding(kind, *_with_trailing_invisibles(text, *norm.original_span(start, end))) for kind, start, end in found
    ]
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
        kept = [f for f in kept if span_key(text[f.start : f.end]) not in marks]
    return kept


def redact(
    text: str | None, *, not_personal: Collection[str] = (), placeholders: Mapping[str, str] = PLACEHOLDERS
) -> str:
    """`text` with every finding replaced by its placeholder, every other character as it was.

    `placeholders`: the token for each kind, in the reader's language (the public projection
    passes translated ones; this module knows no language but English)."""
    if not text:
        return text or ""
    parts, last = [], 0
    for f in find_personal_data(text, not_personal=not_personal):
        parts += [text[last : f.start], placeholders.get(f.kind, PLACEHOLDERS[f.kind])]
        last = f.end
    parts.append(text[last:])
    return "".join(parts)


class Publishable(Protocol):
    """What the masking reads of a view (a Submission has these)."""

    @property
    def body(self) -> str: ...
    @property
    def public_text(self) -> str | None: ...
    @property
    def not_personal(self) -> list[str] | None: ...


def publication_source(sub: Publishable) -> str:
    """The text a view is published from: a moderator's edit, else the view as sent."""
    return sub.public_text if sub.public_text is not None else sub.body


def published_text(sub: Publishable, *, placeholders: Mapping[str, str] = PLACEHOLDERS) -> str:
    """What the public sees of a view: its publication source masked, a moderator's edit too
    (people retype personal data into edits), but for what a moderator marked not personal."""
    return redact(publication_source(sub), not_personal=sub.not_personal or (), placeholders=placeholders)
