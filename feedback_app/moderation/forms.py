from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from ..web.forms import Form
from ..web.i18n import REJECTION_LABELS


class DecisionForm(Form):
    # The version the moderator saw; a decision on an older version is refused as stale.
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class CampaignDecisionForm(DecisionForm):
    # Shown only on a copy of a campaign with other copies waiting (views.py removes it otherwise).
    whole_campaign = BooleanField(_l("Decide the same for every copy of this campaign still waiting"))


class RouteForm(CampaignDecisionForm):
    area = SelectField(_l("Smart area"), validators=[DataRequired()])
    bureau = SelectField(_l("Bureau"), validators=[DataRequired()])
    submit = SubmitField(_l("Route to this bureau"))
    submit_next = SubmitField(_l("Route, then open the next view"))


class RejectForm(CampaignDecisionForm):
    reason = SelectField(
        _l("Reason"),
        choices=[SelectChoice(code, label) for code, label in REJECTION_LABELS.items()],
        validators=[DataRequired()],
    )
    note = TextAreaField(_l("Note (optional, kept in the audit log)"), validators=[Optional(), Length(max=1000)])
    submit = SubmitField(_l("Reject"))
    submit_next = SubmitField(_l("Reject, then open the next view"))


class VisibilityForm(DecisionForm):
    visibility = SelectField(
        _l("Public visibility"),
        choices=[SelectChoice("published", _l("Publish")), SelectChoice("hidden", _l("Hide"))],
        validators=[DataRequired()],
    )
    submit = SubmitField(_l("Save visibility"))


class ReopenForm(DecisionForm):
    note = TextAreaField(
        _l("Why it goes back to the queue (optional, kept in the audit log)"), validators=[Optional(), Length(max=1000)]
    )
    submit = SubmitField(_l("Reopen for review"))


class PublicTextForm(DecisionForm):
    public_text = TextAreaField(
        _l("Text as it will be published"),
        validators=[
            DataRequired(message=_l("Please keep some text, or use “Back to the automatic masking”.")),
            Length(max=5000),
        ],
        description=_l(
            "Change what the automatic masking missed. Your text is masked too: to show something it "
            "hid by mistake, tick it under “What the masking hides”. The view as sent stays unchanged, "
            "for staff only; both versions are kept in the history."
        ),
    )
    submit = SubmitField(_l("Save the published text"))
    submit_automatic = SubmitField(_l("Back to the automatic masking"))


class NotPersonalForm(DecisionForm):
    # Choices are what the masking finds in the view now; the service refuses anything else.
    not_personal = SelectMultipleField(
        _l("Not personal data: publish as typed"),
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    submit = SubmitField(_l("Save what is published as typed"))


class QueueFilterForm(Form):
    """The queue's filters, read from the URL (a GET form: no CSRF, nothing is changed)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validators=[Optional()])
    area = SelectField(_l("Predicted smart area"), validators=[Optional()])
    bureau = SelectField(_l("Predicted bureau"), validators=[Optional()])
    final_bureau = SelectField(_l("Routed to"), validators=[Optional()])
    initiative = SelectField(_l("Initiative"), validators=[Optional()])
    language = SelectField(_l("Language of the page it was sent from"), validators=[Optional()])
    visibility = SelectField(_l("Publication"), validators=[Optional()])
    flag = SelectField(_l("Flag"), validators=[Optional()])
    band = SelectField(_l("Classifier confidence"), validators=[Optional()])
    since = DateField(_l("Received from"), validators=[Optional()], render_kw={"placeholder": "2026-11-01"})
    until = DateField(_l("Received until"), validators=[Optional()])
    text = StringField(_l("Words in the view"), validators=[Optional(), Length(max=200)])
    sort = SelectField(_l("Order"), validators=[Optional()])

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date is before the start date."))


class BulkForm(Form):
    """One decision on several views (moderation.bulk): asked, shown for confirmation, then done."""

    decision = SelectField(_l("Decision"), validators=[DataRequired()])
    # Each needed by one decision only (checked below; "" is a listed choice, so always valid).
    bureau = SelectField(_l("Bureau to route to"), default="")
    reason = SelectField(_l("Reason for rejecting"), default="")
    scope = RadioField(_l("Which views"), validators=[DataRequired()])
    # The queue's filters as they were on the page (a query string), and the newest view then.
    query = HiddenField()
    up_to_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    submit = SubmitField(_l("Review this decision"))
    confirm = SubmitField(_l("Confirm and decide"))

    def validate_bureau(self, field):
        if self.decision.data == "route" and not field.data:
            raise ValidationError(_l("Choose the bureau to route them to."))

    def validate_reason(self, field):
        if self.decision.data == "reject" and not field.data:
            raise ValidationError(_l("Choose why they are rejected."))


class SplitForm(Form):
    submit = SubmitField(_l("Not a copy: take it out of the campaign"))
