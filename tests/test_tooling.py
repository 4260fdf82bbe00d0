"""What the type checker and the linter found, held as behaviour (the tools themselves run in `make lint`)."""

from feedback_app.text.redaction import redact


def test_a_home_address_is_masked_after_a_road_named_beside_a_year():
    # The first street ("2024 Tuen Mun Road" is a year, not a house number) once left the
    # detector's idea of what a street is behind it, and the home address after it went out as typed.
    text = "In 2024 Tuen Mun Road was closed. I live at 12 Nathan Road."
    assert redact(text) == "In 2024 Tuen Mun Road was closed. I live at [ADDRESS]"
    assert redact("I live at 12 Nathan Road.") == "I live at [ADDRESS]"


def test_a_lane_named_first_does_not_change_how_the_next_street_is_read():
    # One "lane" (a lower-case name ending in a common word) made every later street one too,
    # so a year before a road was taken for a house number and masked with the flat after it.
    alone = "Since 2024 Tuen Mun Road flat 5 has been noisy."
    assert redact(alone) == alone
    assert redact(f"Our office is at 1 wah walk. {alone}") == f"Our office is at 1 wah walk. {alone}"
