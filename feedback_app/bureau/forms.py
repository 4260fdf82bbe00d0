from flask_babel import lazy_gettext as _l
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..web.forms import Form


class AnswerForm(Form):
    body = TextAreaField(
        _l("Public answer"),
        validators=[
            DataRequired(message=_l("Please write the answer.")),
            Length(min=10, max=5000, message=_l("An answer needs between %(min)d and %(max)d characters.")),
        ],
        description=_l("Published with the view on the initiative page and shown to the resident."),
    )
    submit = SubmitField(_l("Publish answer"))


class SendBackForm(Form):
    reason = TextAreaField(
        _l("Why should another bureau handle this?"),
        validators=[DataRequired(message=_l("Please give a reason for the moderators.")), Length(max=1000)],
    )
    submit = SubmitField(_l("Send back for re-routing"))


class CloseForm(Form):
    note = TextAreaField(_l("Note (optional, kept in the audit log)"), validators=[Optional(), Length(max=1000)])
    submit = SubmitField(_l("Close"))
