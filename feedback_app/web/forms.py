"""The base of every form: Flask-WTF (CSRF) plus the checks every text input needs."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from babel import support
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import FileField, PasswordField
from wtforms.i18n import messages_path

# NUL and the other C0 controls (tab, newline and carriage return are ordinary typing).
# PostgreSQL refuses NUL in text outright, and none of them belong in anything a person types.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalise_text(value: str) -> str:
    """What a person meant to type: one Unicode form (NFC, so the same word is stored the same
    way whatever the input method sent), Windows line ends as plain ones, no surrounding
    spaces — so nine spaces and an "a" count as one character, not ten."""
    return unicodedata.normalize("NFC", value).replace("\r\n", "\n").strip()


@lru_cache(maxsize=16)
def _wtforms_catalogue(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _WTFormsMessages:
    """WTForms' own messages in the reader's language, each catalogue read once per process.

    Flask-WTF reads it from disk again for every request that builds a form: about a
    millisecond of every sending.
    """

    def gettext(self, string):
        return _wtforms_catalogue(str(get_locale())).ugettext(string)

    def ngettext(self, singular, plural, n):
        return _wtforms_catalogue(str(get_locale())).ungettext(singular, plural, n)


_messages = _WTFormsMessages()


def _text_only(form: Form, formdata):
    """`formdata` without the values a text field cannot take, noting on `form` which fields
    were sent such a value.

    A script can send any field as a multipart file part (a FileStorage), or post JSON whose
    values are numbers, lists or objects; every text validator and `.strip()` would then fail
    with an AttributeError, a 500 for an anonymous request. Only a file field takes a file.
    """
    if formdata is None:
        return None
    file_fields = {field.name for field in form if isinstance(field, FileField)}

    def fits(key, value):
        return isinstance(value, str) or (key in file_fields and not isinstance(value, (dict, list)))

    items = list(formdata.items(multi=True))
    # Names that are no field of the form are listed too, and ignored as any unknown field is.
    form.not_text = {key for key, value in items if not fits(key, value)}
    if not form.not_text:
        return formdata
    return MultiDict([(key, value) for key, value in items if fits(key, value)])


class Form(FlaskForm):
    # Names of the fields sent something other than text (see _text_only).
    not_text: set[str] = set()

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _messages

        def wrap_formdata(self, form, formdata):
            # Once here, so every form, present and future, refuses a file where text belongs.
            try:
                formdata = super().wrap_formdata(form, formdata)
            except (TypeError, ValueError):
                # Flask-WTF reads a JSON body as the form; one that is no object (a list, a
                # number) has no fields to read.
                formdata = MultiDict()
            return _text_only(form, formdata)

    def validate(self, extra_validators=None) -> bool:
        # Before any validator runs, so lengths and "required" see what was really written.
        # Passwords are taken exactly as typed: a space in one may be meant.
        for field in self:
            if isinstance(field.data, str) and not isinstance(field, PasswordField):
                field.data = normalise_text(field.data)
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and CONTROL_CHARACTERS.search(field.data):
                field.errors = [
                    *field.errors,
                    _l(
                        "This contains invisible control characters that cannot be stored. Please remove them (retyping the text usually does)."
                    ),
                ]
                valid = False
            if field.name in self.not_text:
                field.errors = [*field.errors, _l("This field takes typed text, not a file.")]
                valid = False
        return valid
