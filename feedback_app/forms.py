"""The base of every form: Flask-WTF (CSRF) plus the checks every text input needs."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

# NUL and the other C0 controls (tab, newline and carriage return are ordinary typing).
# PostgreSQL refuses NUL in text outright, and none of them belong in anything a person types.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Form(FlaskForm):
    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and CONTROL_CHARACTERS.search(field.data):
                field.errors = [*field.errors, _l("This contains invisible control characters that cannot be stored. Please remove them (retyping the text usually does).")]
                valid = False
        return valid
