"""Every text a person types is stripped and normalised before any rule looks at it."""

import unicodedata

from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.kernel.models import Answer, Submission
from feedback_app.web.forms import normalise_text

from . import factories


def test_spaces_around_a_short_answer_do_not_make_it_long_enough(app, browser, officer):
    sub = factories.submission()
    browser.login(officer.email)
    response = browser.submit_form(
        f"/bureau/submissions/{sub.id}", {"english": " " * 4 + "a"}, action=f"/bureau/submissions/{sub.id}/answer"
    )
    assert response.status_code == 400
    assert "An answer needs between 5 and 10000 characters." in response.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Answer)).scalar_one() == 0


def test_a_view_is_stored_as_one_unicode_form_without_surrounding_spaces(browser):
    initiative = factories.initiative()
    decomposed = unicodedata.normalize("NFD", "Café near the MTR exit needs a proper bus stop shelter.")
    response = browser.submit_form(
        f"/initiatives/{initiative.code}/views/new",
        {
            "initiative": initiative.code,
            "body": f"\r\n  {decomposed}\r\nThanks.  ",
            "name": "  Chan Tai Man  ",
            "email": " chan@example.org ",
        },
    )
    assert response.status_code == 200
    sub = db.session.execute(select(Submission)).scalar_one()
    assert sub.body == "Café near the MTR exit needs a proper bus stop shelter.\nThanks."
    assert unicodedata.is_normalized("NFC", sub.body)
    assert (sub.name, sub.email) == ("Chan Tai Man", "chan@example.org")


def test_a_password_is_taken_exactly_as_typed(app, browser):
    from feedback_app.auth import services as accounts
    from feedback_app.kernel.models import Role

    user = accounts.create_user("spaces@example.org", "  spaced password  ", Role.RESIDENT)
    assert browser.login(user.email, "spaced password").status_code == 400
    assert browser.login(user.email, "  spaced password  ").status_code == 200


def test_normalise_text():
    assert normalise_text("  a\r\nb  ") == "a\nb"
    assert normalise_text("e\u0301") == "é"
    assert normalise_text("\t\n ") == ""
