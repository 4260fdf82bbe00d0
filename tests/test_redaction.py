"""Personal data never reaches a published page."""
import pytest

from feedback_app.redaction import find_personal_data, redact


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
        "Room 1203, 12/F",
    ],
)
def test_ordinary_numbers_are_left_alone(text):
    assert find_personal_data(text) == []
    assert redact(text) == text
