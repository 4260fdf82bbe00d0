"""The Simplified Chinese interface, converted from the Traditional Chinese one.

Translators keep one Chinese catalogue (zh_Hant); `flask i18n simplify` (run by `make messages`)
writes zh_Hans from it with OpenCC's Hong Kong-to-Simplified table, so the two scripts always
say the same thing. Reference data is converted the same way when shown (i18n.localized).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from ..text.chinese import converter

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
HEADER = (
    "# Simplified Chinese: generated from zh_Hant by `flask i18n simplify` (OpenCC hk2s).\n"
    "# Do not edit: change zh_Hant/LC_MESSAGES/messages.po and run `make messages`."
)


def simplified_catalogue(traditional: Catalog) -> Catalog:
    convert = converter("hk2s")
    catalogue = Catalog(
        locale="zh_Hans", domain="messages", header_comment=HEADER, project="Smart City Feedback", fuzzy=False
    )
    for message in traditional:
        if not message.id:
            continue
        string = message.string
        string = tuple(convert(s) for s in string) if isinstance(string, tuple) else convert(string)
        catalogue.add(message.id, string, locations=message.locations, flags=message.flags - {"fuzzy"})
    return catalogue


def write_simplified(directory: Path = TRANSLATIONS) -> Path:
    with open(directory / "zh_Hant" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        traditional = read_po(handle)
    target = directory / "zh_Hans" / "LC_MESSAGES" / "messages.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as handle:
        write_po(handle, simplified_catalogue(traditional), width=76, omit_header=False)
    return target
