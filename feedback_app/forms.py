"""The base of every form: Flask-WTF (CSRF) plus the checks every text input needs."""
from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField

# NUL and the other C0 controls (tab, newline and carriage return are ordinary typing).
# PostgreSQL refuses NUL in text outright, and none of them belong in anything a person types.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalise_text(value: str) -> str:
    """What a person meant to type: one Unicode form (NFC, so the same word is stored the same
    way whatever the input method sent), Windows line ends as plain ones, no surrounding
    spaces — so nine spaces and an "a" count as one character, not ten."""
    return unicodedata.normalize("NFC", value).replace("\r\n", "\n").strip()


class Form(FlaskForm):
    def validate(self, extra_validators=None) -> bool:
        # Before any validator runs, so lengths and "required" see what was really written.
        # Passwords are taken exactly as typed: a space in one may be meant.
        for field in self:
            if isinstance(field.data, str) and not isinstance(field, PasswordField):
                field.data = normalise_text(field.data)
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and CONTROL_CHARACTERS.search(field.data):
                field.errors = [*field.errors, _l("This contains invisible control characters that cannot be stored. Please remove them (retyping the text usually does).")]
                valid = False
        return valid
