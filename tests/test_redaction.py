"""Personal data never reaches a published page; ordinary numbers are left alone."""

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.kernel.models import AuditEvent, Status, Submission
from feedback_app.text.redaction import PLACEHOLDERS, find_personal_data, redact, span_key

from . import factories
from .conftest import hypothesis_examples


@pytest.mark.parametrize(
    "text, expected",
    [
        ("My HKID is A123456(3).", "My HKID is [HKID]."),
        ("HKID: AB 987654 (3) thanks", "HKID: [HKID] thanks"),  # two letters, spaces, bracketed
        ("id A1234563 here", "id [HKID] here"),  # unbracketed but the check digit is valid
        ("Call 9123 4567 or 2345-6789", "Call [PHONE] or [PHONE]"),
        ("+852 6123 4567 please", "[PHONE] please"),
        ("電話：61234567。", "電話：[PHONE]。"),
        ("mail chan.tm+scf@example.com.hk now", "mail [EMAIL] now"),
        # Mainland mobiles, with and without a prefix and spaces
        ("Call +86 138 1234 5678 now", "Call [PHONE] now"),
        ("手機13812345678，謝謝", "手機[PHONE]，謝謝"),
        ("WeChat 0086-139-2345-6789.", "WeChat [PHONE]."),
        ("(+86) 15012345678", "[PHONE]"),
        # phone numbers written with dots, and HK prefixes in brackets
        ("tel. 9123.4567.", "tel. [PHONE]."),
        ("Call (852) 2345 6789 or (+852)9123-4567", "Call [PHONE] or [PHONE]"),
        ("WhatsApp 85291234567", "WhatsApp [PHONE]"),
        # full-width digits and letters, as Chinese input methods type them
        ("請致電９１２３４５６７，謝謝。", "請致電[PHONE]，謝謝。"),
        ("身份證Ａ１２３４５６（７）。", "身份證[HKID]。"),
        ("電話：＋８５２　９１２３　４５６７！", "電話：[PHONE]！"),
        # e-mail on non-ASCII domains, or spelled out
        ("電郵：陳大文@例子.香港。", "電郵：[EMAIL]。"),
        ("write to chan@例子.com please", "write to [EMAIL] please"),
        ("name[at]example.com", "[EMAIL]"),
        ("chan (at) example (dot) com, thanks", "[EMAIL], thanks"),
        ("請電郵至chan＠example．com謝謝", "請電郵至[EMAIL]謝謝"),
        # URLs carrying a name or a phone number
        ("see https://example.com/form?name=Chan+Tai+Man&lang=en now", "see [URL] now"),
        ("https://x.example.hk/reply?tel=%2B85291234567，謝謝", "[URL]，謝謝"),
        ("message me at https://wa.me/85291234567.", "message me at [URL]."),
        # street addresses, English and Chinese
        ("I live at Flat 12B, 15/F, Block 3, Wah Fu Estate.", "I live at [ADDRESS]."),
        ("Send it to 12 Nathan Road, Kowloon.", "Send it to [ADDRESS], Kowloon."),
        ("我住在彌敦道123號，很嘈吵。", "我住在[ADDRESS]，很嘈吵。"),
        ("地址：彩虹邨金漢樓12樓1203室", "地址：[ADDRESS]"),
        ("3座15樓", "[ADDRESS]"),
        # invisible characters slipped between digits are covered by the mask
        ("call 9123\u200b4567 now", "call [PHONE] now"),
    ],
)
def test_personal_data_is_redacted(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Bus route 960 and 12345678 people",  # 8 digits starting with 1 is not a HK phone number
        "In 2026 about 7500000 residents",
        "Product code A1234564 is fine",  # HKID shape without bracket and with a wrong check digit
        "Room 1203, 12/F",  # an office, not a home
        "The 2024-2025 budget and the 2024–2025 plan",
        "It costs $12,345,678 or HK$ 2345 6789.",
        "Case TD 2024/23456789 and case no. 23456789",
        "A quarter of 23456789 passengers, 45% or 0.23456789 of them",
        "Nathan Road is busy; 彌敦道很擠。",
        "Is there a lift to 12/F of the building?",
        "route 960 Tuen Mun Road",
        "In 2024 Tuen Mun Road was closed",
        "我知道960號巴士很擠",
        "Wah Fu Estate needs a new bus route",
        "See https://www.gov.hk/en/residents/transport/?lang=en.",
        "請看https://www.td.gov.hk/tc/home/index.html，謝謝",
        "Meeting 2024-03-15 at 18:30-19:45, about 12.5% more",
    ],
)
def test_ordinary_numbers_are_left_alone(text):
    assert find_personal_data(text) == []
    assert redact(text) == text


def test_findings_are_spans_of_the_original_text():
    text = "身份證Ａ１２３４５６（７）及電話９１２３４５６７。"
    findings = find_personal_data(text)
    assert [(f.kind, text[f.start : f.end]) for f in findings] == [
        ("hkid", "Ａ１２３４５６（７）"),
        ("phone", "９１２３４５６７"),
    ]


def test_a_link_is_masked_whole_or_left_whole():
    # A plain link keeps working; one carrying personal data anywhere is masked whole, never
    # half-masked into a broken link that still shows the rest.
    plain = "https://www.info.gov.hk/gia/general/202403/15/P2024031500123.htm?lang=en"
    assert redact(f"See {plain} today.") == f"See {plain} today."
    assert redact("See https://www.example.hk/people/2345-6789/profile?x=1 today.") == "See [URL] today."
    assert redact("See https://chan:secret@example.hk/ today.") == "See [URL] today."
    assert redact("Form: https://example.hk/f?applicant_email=a%40b.com&lang=en") == "Form: [URL]"


# --- every kind as residents write it, in English and both Chinese scripts --------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        # phones: any separator between any digits, glued prefixes, other scripts, Chinese numerals
        ("tel91234567 thanks", "tel[PHONE] thanks"),
        ("whatsapp85291234567", "whatsapp[PHONE]"),
        ("call me@91234567", "call me@[PHONE]"),
        ("電話：9123 4567", "電話：[PHONE]"),
        ("9 1 2 3 - 4 5 6 7 please", "[PHONE] please"),
        ("9123/45_67 or 9\u00a01\u20092\u202f3·4・5.6–7", "[PHONE] or [PHONE]"),
        ("手機九一二三四五六七", "手機[PHONE]"),
        ("请致电 幺三八 壹貳參肆 伍陸柒捌", "请致电 [PHONE]"),
        ("٩١٢٣٤٥٦٧ and ९१२३४५६७", "[PHONE] and [PHONE]"),
        ("nine one two three four five six seven", "[PHONE]"),
        ("Call 2345 6789 / 9123 4567.", "Call [PHONE] / [PHONE]."),
        ("In 2024, 9123 4567 was my number", "In 2024, [PHONE] was my number"),
        # Mainland landlines with their area code, with and without +86
        ("办公室电话：(010) 2345 6789", "办公室电话：[PHONE]"),
        ("Tel +86 755 2345 678", "Tel [PHONE]"),
        ("座機020-87654321", "座機[PHONE]"),
        # HKIDs split anywhere, with Chinese numerals, or without the check digit after the word
        ("HKID A 1 2 3 4 5 6 (3)", "HKID [HKID]"),
        ("A123-456(3) here", "[HKID] here"),
        ("身份證A一二三四五六(三)", "身份證[HKID]"),
        ("my HKID is A123456.", "my HKID is [HKID]."),
        # payment cards however grouped (Luhn), passports, Mainland ID cards
        ("card 4111 1111 1111 1111 exp 12/28", "card [CARD] exp 12/28"),
        ("pay with 4111-1111-1111-1111", "pay with [CARD]"),
        ("Amex 3782 822463 10005", "Amex [CARD]"),
        ("passport K12345678, 回鄉證H1234567890", "passport [PASSPORT], 回鄉證[PASSPORT]"),
        ("护照号码：E12345678；my passport is P1234567A", "护照号码：[PASSPORT]；my passport is [PASSPORT]"),
        ("身份证号码：11010519491231002X", "身份证号码：[ID NUMBER]"),
        # e-mail addresses spelled out, spaced, in Chinese
        ("chan dot taiman at gmail dot com", "[EMAIL]"),
        ("chan at gmail.com please", "[EMAIL] please"),
        ("我的電郵是chan 在 gmail 點 com。", "我的電郵是[EMAIL]。"),
        ("chan＠gmail . com", "[EMAIL]"),
        ("CHAN (AT) GMAIL (DOT) COM", "[EMAIL]"),
        # addresses in lower case and in both Chinese scripts
        ("I live at 12 nathan road", "I live at [ADDRESS]"),
        ("flat 3b 15/f block 2 wah fu estate", "[ADDRESS]"),
        ("I live at rm 1203, 12th floor", "I live at [ADDRESS]"),
        ("恒生大廈12樓B室", "[ADDRESS]"),
        ("华富邨3座15楼1503室", "[ADDRESS]"),
        ("淘大花園2期3座20樓A室", "[ADDRESS]"),
        # names with a title, not a form of address
        ("聯絡人：陳大文先生", "聯絡人：[NAME]"),
        ("请联系欧阳美玲小姐", "请联系[NAME]"),
        ("我同陳生講過", "我同[NAME]講過"),
        ("Please ask for Mr Chan Tai Man.", "Please ask for [NAME]."),
        # dates of birth and bank accounts after words that say so
        ("DOB: 15/03/1985", "DOB: [DATE OF BIRTH]"),
        ("I was born on 3 March 1985.", "I was born on [DATE OF BIRTH]."),
        ("出生日期：一九八五年三月十五日", "出生日期：[DATE OF BIRTH]"),
        ("account no. 012-345-678901", "account no. [ACCOUNT]"),
        ("匯豐戶口 123-456789-001", "匯豐戶口 [ACCOUNT]"),
        ("账户：6222 0212 3456 7890", "账户：[ACCOUNT]"),
    ],
)
def test_each_kind_is_masked_however_it_is_written(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The 2024 2025 budget, meeting 20240315 and 15/03/2024",  # years and dates without a word saying birth
        "Call the hotline 2835 1473 or 1823",  # official hotlines
        "The passport office handled 23456789 applications",
        "一五一十，七七八八，三三兩兩",  # idioms thick with numerals
        "各位先生女士，女士們、先生們",  # forms of address
        "巴士司機先生態度很好，護士小姐很細心",  # a title after a job
        "The Secretary for Transport and Logistics, Mr Lam Sai-hung, replied.",  # an official by office
        "look at this, meet at the station, at 2am. noise",  # "at" and "dot" in ordinary English
        "我在家點外賣",  # 在 and 點 in ordinary Chinese
        "born in Hong Kong; bank account fees; 生日快樂",
        "Typhoon Signal No. 8, Exit A2, Cap. 486, phase 2 of the plan",
        "See https://www.info.gov.hk/gia/general/202403/15/P2024031500123.htm today",
        "Buy cheap watches at www.example.com now",  # a link after "at", not an e-mail address
        "ref no. TD/2024/23456789, Form No. 23456789, 申請編號 2024-23456789",  # references
        "Blocked from 203.0.113.7 and 22.9833, 114.4699",  # a network address, a place on a map
    ],
)
def test_ordinary_text_of_every_kind_is_left_alone(text):
    assert find_personal_data(text) == []


def test_staff_can_read_every_kind_the_masking_finds():
    from feedback_app.web.i18n import PERSONAL_DATA_LABELS

    assert set(PLACEHOLDERS) <= set(PERSONAL_DATA_LABELS)


def test_hostile_runs_of_digits_and_words_are_read_in_linear_time():
    # Each of these once tempted a quadratic path (a run of groups read as numbers, e-mail
    # words, Chinese names). A bound only a quadratic slip would break.
    for piece in ("1,", "1 ", "a dot ", "a at ", "陳", "@a.", "1/f ", "一"):
        text = piece * (4000 // len(piece))
        start = time.perf_counter()
        redact(text)
        assert time.perf_counter() - start < 2.0, piece


# --- a moderator's "not personal data" marks, and official contacts ---------------------------


def test_a_span_marked_not_personal_is_left_as_typed_wherever_it_recurs():
    text = "地址3座15樓 call ９１２３ ４５６７ or 9123 4567, not 2345 6789."
    # The mark is compared through span_key: width, case, spaces and invisible characters aside.
    marks = ["9123\u200b4567 "]
    assert redact(text, not_personal=marks) == "地址[ADDRESS] call ９１２３ ４５６７ or 9123 4567, not [PHONE]."
    assert [text[f.start : f.end] for f in find_personal_data(text, not_personal=marks)] == ["3座15樓", "2345 6789"]
    assert redact(text) == "地址[ADDRESS] call [PHONE] or [PHONE], not [PHONE]."  # no marks: all masked


def test_span_key_ignores_width_case_spaces_and_invisible_characters():
    assert span_key("ＦＬＡＴ\u00a012Ｂ") == span_key("flat 12b") == span_key("F l a t\u200b1 2 B") == "flat12b"
    assert span_key("9123 4567") != span_key("9123 4568")


@pytest.mark.parametrize(
    "address",
    [
        "enquiry@td.gov.hk",
        "tdenq＠td．gov．hk",
        "someone@gov.hk",
        "a.b@x.y.gov.hk",
        "chan (at) epd (dot) gov (dot) hk",
    ],
)
def test_government_mail_addresses_are_official_contacts(address):
    text = f"Please write to {address} for details."
    assert find_personal_data(text) == []


@pytest.mark.parametrize("address", ["chan@gov.hk.example.com", "chan@notgov.hk", "chan@mygov.hk"])
def test_mail_domains_that_only_look_governmental_are_masked(address):
    assert redact(f"write to {address} now") == "write to [EMAIL] now"


# --- property-based: every common shape, embedded in English and Chinese text ----------------

PROPERTIES = settings(max_examples=hypothesis_examples(200), deadline=None, derandomize=True, database=None)


def fullwidth(text: str) -> str:
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def hkid_check_digit(letters: str, digits: str) -> str:
    """Computed here independently of the code under test: weights 9..2, modulo 11."""
    values = ([36] if len(letters) == 1 else []) + [ord(c) - ord("A") + 10 for c in letters] + [int(d) for d in digits]
    remainder = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=False)) % 11
    check = (11 - remainder) % 11
    return "A" if check == 10 else str(check)


DIGIT = "0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@st.composite
def hkids(draw):
    letters = draw(st.text(UPPER, min_size=1, max_size=2))
    digits = draw(st.text(DIGIT, min_size=6, max_size=6))
    check = hkid_check_digit(letters, digits)
    shape = draw(st.sampled_from(["{l}{d}({c})", "{l}{d}（{c}）", "{l}{d}{c}", "{l} {d} ({c})", "{l}{d} ({c})"]))
    text = shape.format(l=letters, d=digits, c=check)
    return fullwidth(text) if draw(st.booleans()) and "（" not in text else text


def _is_year_range(first: str, second: str) -> bool:
    return 1900 <= int(first) < int(second) <= 2099


@st.composite
def hk_phones(draw):
    first = draw(st.sampled_from("23456789")) + draw(st.text(DIGIT, min_size=3, max_size=3))
    second = draw(st.text(DIGIT, min_size=4, max_size=4))
    prefix = draw(st.sampled_from(["", "+852 ", "+852", "852 ", "852-", "(852) ", "(+852)", "00852 "]))
    sep = draw(st.sampled_from(["", " ", "-", ".", " - "]))
    if not prefix and sep.strip() == "-" and _is_year_range(first, second):
        sep = " "  # 2024-2025 without a prefix is a year range, which must survive (see below)
    text = f"{prefix}{first}{sep}{second}"
    return fullwidth(text) if draw(st.booleans()) else text


@st.composite
def mainland_mobiles(draw):
    digits = "1" + draw(st.sampled_from("3456789")) + draw(st.text(DIGIT, min_size=9, max_size=9))
    prefix = draw(st.sampled_from(["", "+86 ", "+86", "86 ", "0086 ", "0086-", "(+86) ", "(86)"]))
    sep = draw(st.sampled_from(["", " ", "-"]))
    text = prefix + sep.join([digits[:3], digits[3:7], digits[7:]])
    return fullwidth(text) if draw(st.booleans()) else text


ASCII_WORD = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
CJK_WORD = st.text("陳大文李小明張美玲例子香港政府測試", min_size=1, max_size=4)


@st.composite
def emails(draw):
    local = draw(ASCII_WORD) + draw(st.sampled_from(["", ".", "_", "+", "-"])) + draw(ASCII_WORD)
    labels = draw(st.lists(ASCII_WORD, min_size=1, max_size=3))
    # Not gov.hk: the Government's addresses are official contacts and stay (tested above).
    tld = draw(st.sampled_from(["com", "hk", "org", "org.hk", "com.hk", "net"]))
    shape = draw(st.sampled_from(["plain", "unicode-local", "unicode-domain", "[at]", "(at)(dot)", "fullwidth"]))
    if shape == "unicode-local":
        return f"{draw(CJK_WORD)}@{'.'.join(labels)}.{tld}"
    if shape == "unicode-domain":
        return f"{local}@{draw(CJK_WORD)}.{draw(st.sampled_from(['香港', '中國', 'com', 'hk']))}"
    if shape == "[at]":
        return f"{local}[at]{'.'.join(labels)}.{tld}"
    if shape == "(at)(dot)":
        return f"{local} (at) {' (dot) '.join(labels)} (dot) {tld.replace('.', ' (dot) ')}"
    address = f"{local}@{'.'.join(labels)}.{tld}"
    return address.replace("@", "＠").replace(".", "．") if shape == "fullwidth" else address


KINDS = {"hkid": hkids(), "phone": st.one_of(hk_phones(), mainland_mobiles()), "email": emails()}

# Contexts: English with spaces, Chinese written straight against the data (no spaces), with
# full-width punctuation that must come back untouched.
ENGLISH_BEFORE = ["", "Please contact me: ", "My details are ", "(", "Call or write - "]
ENGLISH_AFTER = ["", " thanks", ".", ", see you", ")", "!"]
CHINESE_BEFORE = ["請致電", "聯絡我：", "我的資料是 ", "身份證及電話（", "電郵："]
CHINESE_AFTER = ["，謝謝。", "。", "謝謝", "）查詢", "！"]


def _glues_to_cjk(item: str) -> bool:
    """Chinese text written straight against a Chinese e-mail part would read as part of it."""
    return bool(re.search(r"[\u4e00-\u9fff]", item))


@st.composite
def embedded(draw, kind):
    item = draw(KINDS[kind])
    if draw(st.booleans()):
        return draw(st.sampled_from(ENGLISH_BEFORE)), item, draw(st.sampled_from(ENGLISH_AFTER))
    before, after = draw(st.sampled_from(CHINESE_BEFORE)), draw(st.sampled_from(CHINESE_AFTER))
    if _glues_to_cjk(item):
        before, after = "電郵：", draw(st.sampled_from(["，謝謝。", "。", " 謝謝", "）"]))
    return before, item, after


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_shape_is_masked_and_the_rest_is_untouched(kind):
    @PROPERTIES
    @given(embedded(kind))
    def check(parts):
        before, item, after = parts
        text = before + item + after
        assert redact(text) == before + PLACEHOLDERS[kind] + after
        assert redact(redact(text)) == redact(text)

    check()


@PROPERTIES
@given(
    st.lists(st.sampled_from(sorted(KINDS)), min_size=2, max_size=4).flatmap(
        lambda kinds: st.tuples(*[st.tuples(st.just(k), KINDS[k]) for k in kinds])
    )
)
def test_several_items_in_one_text_are_all_masked(items):
    text = " 以及 and ".join(item for _, item in items)
    assert redact(text) == " 以及 and ".join(PLACEHOLDERS[kind] for kind, _ in items)


@st.composite
def ordinary_numbers(draw):
    year = draw(st.integers(1900, 2098))
    later = draw(st.integers(year + 1, min(2099, year + 10)))
    eight = draw(st.sampled_from("23456789")) + draw(st.text(DIGIT, min_size=7, max_size=7))
    amount = draw(st.integers(0, 99_999_999_999))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    return draw(
        st.sampled_from(
            [
                str(year),
                f"{year}-{later}",
                f"{year}–{later}",
                f"{year} - {later}",
                f"{year}/{later % 100:02d}",
                f"{year}至{later}年度",
                f"FY{year}-{later}",
                f"${amount:,}",
                f"HK${amount:,}",
                f"HK$ {eight[:4]} {eight[4:]}",
                f"HK${eight}",
                f"RMB {amount}",
                f"{amount:,}元",
                f"{eight}港元",
                f"US$ {eight}",
                f"route {draw(st.integers(1, 999))}",
                f"bus {draw(st.integers(1, 999))}{draw(st.sampled_from(['', 'A', 'X', 'M']))}",
                f"N{draw(st.integers(1, 999))}",
                f"minibus {draw(st.integers(1, 99))}M",
                f"TD {year}/{eight}",
                f"case no. {eight}",
                f"ref: {eight[:4]}-{eight[4:]}",
                f"案件編號{eight}",
                f"{year}-{month:02d}-{day:02d}",
                f"{day}/{month}/{year}",
                f"{year}年{month}月{day}日",
                f"{day}.{month}.{year}",
                f"{hour:02d}:{minute:02d}",
                f"{hour}:{minute:02d}-{(hour + 1) % 24}:{minute:02d}",
                f"{draw(st.integers(0, 100))}%",
                f"{draw(st.floats(0, 100, allow_nan=False)):.1f}%",
                f"{eight} people",
                f"{eight} passengers",
                f"{eight}人",
                f"{amount:,} residents",
                str(draw(st.integers(0, 9_999_999))),
                str(draw(st.integers(100_000_000, 9_999_999_999))),
                f"0.{eight}",
            ]
        )
    )


@PROPERTIES
@given(
    st.sampled_from(["", "In ", "about ", "The figure is ", "約", "在", "共"]),
    ordinary_numbers(),
    st.sampled_from(["", ".", " in total.", " this year", "。", "，", "左右"]),
)
def test_ordinary_numbers_survive(before, number, after):
    text = before + number + after
    assert find_personal_data(text) == []
    assert redact(text) == text


def test_long_text_is_redacted_quickly():
    # Every public page runs this on up to 20 views; it must stay linear. A generous bound that
    # only a quadratic slip would break (a 5,000-character text takes a few milliseconds).
    text = (
        "The 2024-2025 plan for route 960: call 9123 4567, 電話９１２３４５６７，see https://www.gov.hk/?lang=en. "
    ) * 60
    start = time.perf_counter()
    for _ in range(10):
        redact(text[:5000])
    assert (time.perf_counter() - start) / 10 < 0.25


# --- routing and the public pages -------------------------------------------------------------


def test_year_range_does_not_hold_a_view_back_as_personal_data(app):
    sub = factories.submission(factories.TRANSPORT_VIEW + " Please do this in the 2024-2025 budget.")
    reasons = (
        db.session.execute(
            select(AuditEvent.reason).where(
                AuditEvent.submission_id == sub.id, AuditEvent.action == "queued_for_review"
            )
        )
        .scalars()
        .all()
    )
    assert "contains personal data" not in reasons
    assert sub.status == Status.ROUTED


VIEW_WITH_PERSONAL_DATA = (
    factories.TRANSPORT_VIEW + " My HKID is A123456(3), my Mainland mobile is +86 138 1234 5678,"
    " at home ９１２３４５６７, e-mail chan.tai.man[at]example.com, and I live at Flat 12B, 15/F, Block 3,"
    " Wah Fu Estate. This should be in the 2024-2025 budget."
)
# The officer's address on a gov.hk domain is an official contact and stays; the resident's is masked.
ANSWER_WITH_PERSONAL_DATA = (
    "Thank you. Our officer will call you on 2345 6789 or write to chan.tai.man＠example．com from"
    " chan.officer＠td．gov．hk about case no. 23456789 and route 960."
)
PERSONAL = ["A123456(3)", "138 1234 5678", "９１２３４５６７", "chan.tai.man", "Flat 12B", "Wah Fu Estate", "2345 6789"]
MASKED_VIEW = ["[HKID]", "[PHONE]", "[EMAIL]", "[ADDRESS]"]
KEPT = ["route 960", "2024-2025 budget", "case no. 23456789", "chan.officer＠td．gov．hk"]


def test_public_pages_show_views_and_answers_without_personal_data(app, browser, login_as, moderator, officer):
    initiative = factories.initiative()
    receipt = browser.submit_form(
        f"/initiatives/{initiative.code}/views/new", {"initiative": initiative.code, "body": VIEW_WITH_PERSONAL_DATA}
    )
    tracking_url = receipt.request.path
    sub = db.session.execute(select(Submission)).scalar_one()
    assert sub.status == Status.NEEDS_REVIEW  # held back for a moderator: it contains personal data

    login_as(moderator)
    browser.submit_form(
        f"/moderation/submissions/{sub.id}",
        {"area": "mobility", "bureau": "TLB", "version": sub.version},
        action=f"/moderation/submissions/{sub.id}/route",
    )
    db.session.expire_all()
    sub = db.session.get(Submission, sub.id)
    browser.submit_form(
        f"/moderation/submissions/{sub.id}",
        {"visibility": "published", "version": sub.version},
        action=f"/moderation/submissions/{sub.id}/visibility",
    )
    browser.logout()
    login_as(officer)
    browser.submit_form(
        f"/bureau/submissions/{sub.id}",
        {"english": ANSWER_WITH_PERSONAL_DATA},
        action=f"/bureau/submissions/{sub.id}/answer",
    )
    browser.logout()
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).status == Status.ANSWERED

    for url in (f"/initiatives/{initiative.code}", tracking_url):
        page = browser.client.get(url).get_data(as_text=True)
        assert "Our officer will call you on [PHONE] or write to [EMAIL] from" in page  # the answer
        assert "The buses on route 960" in page  # the view
        for shown in MASKED_VIEW + KEPT:
            assert shown in page, (url, shown)
        for hidden in PERSONAL:
            assert hidden not in page, (url, hidden)


@pytest.mark.parametrize(
    "text, number",
    [
        ("WhatsApp my hotline 9123 4567 for the photos", "9123 4567"),
        ("我的熱線：6123 4567", "6123 4567"),
        ("hotline: +852 5123 4567", "5123 4567"),
    ],
)
def test_a_mobile_number_called_a_hotline_is_still_a_persons(text, number):
    """Offices publish fixed lines (2 or 3 first) as hotlines; calling a mobile one is no licence."""
    assert number not in redact(text) and "[PHONE]" in redact(text)


@pytest.mark.parametrize(
    "text, value",
    [
        ("Rm 1208, 12th Flr, Shun Fat Bldg", "1208"),  # "Flr" for floor
        ("翠楠樓十二樓一二零八室", "一二零八"),  # a room in Chinese numerals
        ("漁光村白沙樓2座1505", "1505"),  # the flat written straight after its block, without 室
        ("我個電話係九一二三，四五六七", "四五六七"),  # a phone number read out, split by a Chinese comma
    ],
)
def test_forms_a_held_out_probe_found(text, value):
    """Written by hand apart from the generators, to see what they missed; each leaked once."""
    assert value not in redact(text)


@pytest.mark.parametrize(
    "text, masked",
    [
        ("我係1988年7月21日出世", True),
        ("我1988-07-21出生，住在屯門", True),
        ("出世紙日期 1988年7月21日", True),
        ("2024年出生的嬰兒比去年少", False),  # a year alone: a count of babies, not someone's birthday
        ("2024年3月1日出生人數", False),
        ("我哋喺2024年3月1日出發", False),
    ],
)
def test_a_date_the_next_word_says_is_a_birth(text, masked):
    assert ("[DATE OF BIRTH]" in redact(text)) is masked


def test_a_lower_case_address_with_room_floor_building_and_estate_is_masked_whole():
    # Found by the kinds' hypothesis test: "floor" was taken as the first word of the building's name.
    assert redact("rm 1 1st floor kam fung house wah fu estate") == "[ADDRESS]"
    assert redact("write to rm 12 3rd floor kam fung house, thanks") == "write to [ADDRESS], thanks"
