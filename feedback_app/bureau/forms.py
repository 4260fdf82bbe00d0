from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import HiddenInput

from ..kernel import public
from ..web.forms import Form

ANSWER_MAX = 10_000


_answer_length = Length(min=5, max=ANSWER_MAX, message=_l("An answer needs between %(min)d and %(max)d characters."))


def _publishable(*fields) -> bool:
    """Each text can be rendered as published (text/markup.py's limits); else a form error on it."""
    ok = True
    for f in fields:
        for problem in public.answer_problems(f.data):
            f.errors.append(problem)
            ok = False
    return ok


class AnswerForm(Form):
    """An answer in English, Chinese or both (at least one), written in Markdown."""

    english = TextAreaField(
        _l("Answer in English"),
        validators=[Optional(), _answer_length],
        description=_l("Paragraphs, lists (- item) and links ([text](https://…)) are kept; nothing else."),
    )
    chinese = TextAreaField(
        _l("Answer in Chinese"),
        validators=[Optional(), _answer_length],
    )
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Publish answer"))
    submit_next = SubmitField(_l("Publish, then open the next view"))

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if ok and not (self.english.data or "").strip() and not (self.chinese.data or "").strip():
            self.english.errors.append(_l("Please write the answer in English, in Chinese, or in both."))
            return False
        return ok and _publishable(self.english, self.chinese)


class ManyAnswerForm(AnswerForm):
    """One answer for a campaign's copies (campaign) or for the views ticked in the list (ids)."""

    campaign = IntegerField(widget=HiddenInput(), validators=[Optional()])
    ids = HiddenField()
    confirm = BooleanField(_l("I have read the preview: publish this answer to every view listed"))
    submit_next = None


class AssignForm(Form):
    assignee = SelectField(_l("Officer"), coerce=int, validators=[InputRequired()])
    submit = SubmitField(_l("Assign"))


class TakeForm(Form):
    submit = SubmitField(_l("Take it"))


class NoteForm(Form):
    body = TextAreaField(
        _l("Internal note"),
        validators=[DataRequired(message=_l("Please write the note.")), Length(max=4000)],
        description=_l("Seen only by officers working on this view. Never published, never exported for the public."),
    )
    submit = SubmitField(_l("Add note"))


class SendBackForm(Form):
    reason = TextAreaField(
        _l("Why should another bureau handle this?"),
        validators=[DataRequired(message=_l("Please give a reason for the moderators.")), Length(max=1000)],
    )
    suggested_bureau = SelectField(_l("The bureau it should go to (optional)"), validators=[Optional()])
    submit = SubmitField(_l("Send back for re-routing"))


class InviteForm(Form):
    bureau = SelectField(_l("Bureau to invite"), validators=[DataRequired(message=_l("Please choose a bureau."))])
    submit = SubmitField(_l("Invite to answer jointly"))


class CloseForm(Form):
    note = TextAreaField(
        _l("Closing note (public)"),
        validators=[
            DataRequired(message=_l("Please write the closing note: the resident and the public read it.")),
            Length(min=10, max=2000, message=_l("A closing note needs between %(min)d and %(max)d characters.")),
        ],
        description=_l("Shown with the view and on its sender's tracking page. Personal data in it is masked."),
    )
    confirm = BooleanField(
        _l("Close this view: no further answer will be given"),
        validators=[DataRequired(message=_l("Please tick the box to confirm."))],
    )
    submit = SubmitField(_l("Close"))


class ReopenForm(Form):
    submit = SubmitField(_l("Reopen"))


class TemplateForm(Form):
    title = StringField(_l("Name"), validators=[DataRequired(message=_l("Please name the template.")), Length(max=120)])
    body_en = TextAreaField(_l("Text in English"), validators=[Optional(), Length(max=ANSWER_MAX)])
    body_zh = TextAreaField(_l("Text in Chinese"), validators=[Optional(), Length(max=ANSWER_MAX)])
    submit = SubmitField(_l("Save template"))

    def validate(self, extra_validators=None):
        return super().validate(extra_validators) and _publishable(self.body_en, self.body_zh)


class DeleteForm(Form):
    submit = SubmitField(_l("Delete"))


class InboxFilterForm(Form):
    """The inbox's filters, read from the URL (a GET form: no CSRF, nothing is changed)."""

    class Meta:
        csrf = False

    initiative = SelectField(_l("Initiative"), validators=[Optional()])
    area = SelectField(_l("Smart area"), validators=[Optional()])
    language = SelectField(_l("Language of the page it was sent from"), validators=[Optional()])
    assignee = SelectField(_l("Assigned to"), validators=[Optional()])
    overdue = BooleanField(_l("Overdue only"))
    since = DateField(_l("Routed from"), validators=[Optional()], render_kw={"placeholder": "2026-11-01"})
    until = DateField(_l("Routed until"), validators=[Optional()])
    text = StringField(_l("Words in the view"), validators=[Optional(), Length(max=200)])
    campaign = IntegerField(widget=HiddenInput(), validators=[Optional()])
    sort = SelectField(_l("Order"), validators=[Optional()])

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date is before the start date."))
