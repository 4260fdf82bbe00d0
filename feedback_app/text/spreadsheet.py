"""Text made safe to open in a spreadsheet: every CSV file the app writes (a bureau's export, the
open data) passes its text cells through `neutralise`."""

from __future__ import annotations

import re

# Spreadsheets read a cell starting with one of these as a formula (OWASP, "CSV Injection")...
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ... and, after spaces an importer may trim, one of these (tab and CR are whitespace themselves).
_FORMULA = re.compile(r"[\t\r]|\s*[=+\-@]")


def neutralise(cell: str) -> str:
    """`cell` made safe to open in a spreadsheet: a leading quote if it could be read as a formula.

    OWASP names the first character; we also look past leading whitespace, because importers
    that trim spaces (LibreOffice's "Trim spaces", Google Sheets) turn " =HYPERLINK(...)" into a
    live formula. The cost is a quote before a text such as " -5 buses": shown, never executed.
    """
    return "'" + cell if _FORMULA.match(cell) else cell
