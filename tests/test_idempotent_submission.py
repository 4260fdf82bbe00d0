"""One form, one sending: Back and send, a retry after a lost connection or a double click
never stores a copy, and always leads back to the first view's confirmation."""

import re
import threading

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.intake.forms import SENDING_CODE_SALT, CodeState, read_sending_code
from feedback_app.kernel.models import AuditEvent, Submission

from . import factories
from .conftest import csrf_token, form_token

REF_RE = re.compile(r"SCF-\d{4}-\d{6}")
ALREADY_SENT = "You had already sent this view; here it is."
TOKEN_PROBLEM = "without its one-time sending code"


def _count():
    return db.session.execute(select(func.count()).select_from(Submission)).scalar_one()


def _open_form(client, initiative):
    """What a browser holds after opening the form: the page's URL and its hidden fields."""
    url = f"/initiatives/{initiative.code}/views/new"
    html = client.get(url).get_data(as_text=True)
    return url, {"csrf_token": csrf_token(html), "form_token": form_token(html), "initiative": initiative.code}


def _send(client, url, fields, body=factories.TRANSPORT_VIEW, **kwargs):
    return client.post(url, data={**fields, "body": body}, **kwargs)


def _actions(sub_id):
    return list(
        db.session.execute(
            select(AuditEvent.action).where(AuditEvent.submission_id == sub_id).order_by(AuditEvent.id)
        ).scalars()
    )


def test_back_and_send_again_stores_one_view_and_shows_the_first_confirmation(client):
    url, fields = _open_form(client, factories.initiative())
    first = _send(client, url, fields)
    assert first.status_code == 302
    client.get(first.location)  # the confirmation; then the resident presses Back: same page, same fields
    again = _send(client, url, fields)
    assert again.status_code == 302
    assert again.location == first.location
    page = client.get(again.location)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert ALREADY_SENT in html and "Your view has been received" in html
    assert _count() == 1
    sub = db.session.execute(select(Submission)).scalar_one()
    assert sub.reference in html
    # Routed once: the resend did not run the classifier or move the view again.
    assert _actions(sub.id) == ["submitted", "auto_routed"]


def test_resent_form_stores_nothing_whatever_its_text_says_now(client):
    url, fields = _open_form(client, factories.initiative())
    first = _send(client, url, fields)
    changed = _send(client, url, fields, body="Edited after pressing Back: a different text altogether.")
    emptied = _send(client, url, fields, body="")  # would be a form error on a new form
    assert changed.status_code == emptied.status_code == 302
    assert changed.location == emptied.location == first.location
    assert _count() == 1
    html = client.get(first.location).get_data(as_text=True)
    assert factories.TRANSPORT_VIEW in html and "Edited after pressing Back" not in html


def test_retry_after_a_lost_connection_reaches_the_same_confirmation(app, client):
    url, fields = _open_form(client, factories.initiative())
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    session_before = client.get_cookie(cookie_name).value
    lost = _send(client, url, fields)  # stored and committed, but the response never arrives:
    client.set_cookie(cookie_name, session_before)  # the browser saw none of it, not even its cookie
    assert lost.status_code == 302 and _count() == 1

    retry = _send(client, url, fields, follow_redirects=True)
    html = retry.get_data(as_text=True)
    assert retry.status_code == 200
    assert ALREADY_SENT in html and "Your view has been received" in html
    assert retry.request.path == lost.location.split("?")[0]
    sub = db.session.execute(select(Submission)).scalar_one()
    assert REF_RE.search(html).group(0) == sub.reference
    assert _count() == 1
    # The link on the confirmation is the tracking link, and it works on its own.
    assert client.get(retry.request.path).status_code == 200


def test_the_form_is_kept_as_one_sending_through_a_form_error(client):
    url, fields = _open_form(client, factories.initiative())
    error = _send(client, url, fields, body="too short")
    assert error.status_code == 400
    assert form_token(error.get_data(as_text=True)) == fields["form_token"]
    first = _send(client, url, fields)
    again = _send(client, url, fields)
    assert first.status_code == again.status_code == 302 and again.location == first.location
    assert _count() == 1


@pytest.mark.parametrize("token", [None, "", "short", "!" * 43, "a" * 44, "a" * 42 + "\n", "a" * 42 + "é", "x" * 5000])
def test_missing_or_malformed_form_token_is_a_form_error_and_stores_nothing(client, token):
    url, fields = _open_form(client, factories.initiative())
    data = {**fields, "body": factories.TRANSPORT_VIEW, "name": "Chan Tai Man"}
    if token is None:
        del data["form_token"]
    else:
        data["form_token"] = token
    response = client.post(url, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert TOKEN_PROBLEM in html
    assert factories.TRANSPORT_VIEW in html and 'value="Chan Tai Man"' in html  # what was typed is kept
    assert _count() == 0
    fresh = form_token(html)
    assert read_sending_code(fresh).state is CodeState.GOOD and fresh not in (token, fields["form_token"])
    # The form shown again can be sent.
    resent = client.post(url, data={**data, "form_token": fresh, "csrf_token": csrf_token(html)})
    assert resent.status_code == 302 and _count() == 1


def _made_up_codes(app, page_code):
    """What a script could send instead of the page's code: a bare token of the right shape, the
    page's code with its token swapped, and codes signed with a key that is not the site's."""
    token = read_sending_code(page_code).token
    other_key = URLSafeTimedSerializer("not-the-site-key", salt=SENDING_CODE_SALT)
    payload, _, signature = page_code.rpartition(".")
    stamp = payload.rsplit(".", 1)[1]
    swapped = URLSafeTimedSerializer("x").dump_payload(intake.new_form_token()).decode()
    return [
        intake.new_form_token(),
        token,
        f"{swapped}.{stamp}.{signature}",
        other_key.dumps(intake.new_form_token()),
        other_key.dumps(token),
    ]


def test_a_made_up_form_token_stores_nothing_and_the_form_can_be_sent_again(app, client):
    """Tokens used to be checked for their shape only: one page let a script send as many views as
    it made up tokens."""
    url, fields = _open_form(client, factories.initiative())
    for n, made_up in enumerate(_made_up_codes(app, fields["form_token"])):
        response = _send(client, url, {**fields, "form_token": made_up}, body=f"{factories.TRANSPORT_VIEW} ({n})")
        html = response.get_data(as_text=True)
        assert response.status_code == 400, made_up
        assert TOKEN_PROBLEM in html and f"{factories.TRANSPORT_VIEW} ({n})" in html
        assert read_sending_code(form_token(html)).state is CodeState.GOOD
    assert _count() == 0
    assert _send(client, url, fields).status_code == 302 and _count() == 1  # the page's own code still works


def test_five_sendings_at_once_from_one_page_store_one_view_at_most(app, client):
    """One fetched page, five sendings at once: the page's own code five times (one view), or
    five codes made up from another page's (none)."""
    initiative = factories.initiative()
    url, fields = _open_form(client, initiative)
    made_up = _made_up_codes(app, _open_form(client, initiative)[1]["form_token"])
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    session_cookie = client.get_cookie(cookie_name).value
    db.session.commit()
    responses, errors = [], []
    barrier = threading.Barrier(5)

    def send(code, n):
        tab = app.test_client()
        tab.set_cookie(cookie_name, session_cookie)
        with app.app_context():
            try:
                barrier.wait()
                responses.append(
                    _send(tab, url, {**fields, "form_token": code}, body=f"{factories.TRANSPORT_VIEW} ({n})")
                )
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    for codes, stored in (([fields["form_token"]] * 5, 1), (made_up, 0)):
        responses.clear()
        threads = [threading.Thread(target=send, args=(code, n)) for n, code in enumerate(codes)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        db.session.rollback()
        assert _count() == 1
        if stored:
            assert sorted(r.status_code for r in responses) == [302] * 5
            assert len({r.location for r in responses}) == 1
        else:
            assert sorted(r.status_code for r in responses) == [400] * 5


STALE = "This page was opened more than"


def _later(monkeypatch, seconds):
    import time

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + seconds)


def test_a_page_older_than_the_maximum_age_stores_nothing_and_keeps_the_text(app, client, monkeypatch):
    app.config["SUBMISSION_FORM_MAX_AGE_SECONDS"] = 6 * 3600
    url, fields = _open_form(client, factories.initiative())
    _later(monkeypatch, 6 * 3600 + 60)
    response = _send(client, url, {**fields, "name": "Chan Tai Man"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert STALE + " 6 hours ago" in html
    assert factories.TRANSPORT_VIEW in html and 'value="Chan Tai Man"' in html
    assert _count() == 0
    fresh = form_token(html)
    assert fresh != fields["form_token"] and read_sending_code(fresh).state is CodeState.GOOD
    resent = _send(client, url, {**fields, "form_token": fresh, "csrf_token": csrf_token(html)})
    assert resent.status_code == 302 and _count() == 1


def test_a_view_written_slowly_within_the_maximum_age_is_stored(app, client, monkeypatch):
    app.config["SUBMISSION_FORM_MAX_AGE_SECONDS"] = 6 * 3600
    url, fields = _open_form(client, factories.initiative())
    _later(monkeypatch, 5 * 3600)  # past the security token's usual hour
    response = _send(client, url, fields)
    assert response.status_code == 302 and _count() == 1


def test_the_stale_page_message_is_translated(app, client, monkeypatch):
    url, fields = _open_form(client, factories.initiative())
    client.set_cookie("lang", "zh_Hant")
    _later(monkeypatch, app.config["SUBMISSION_FORM_MAX_AGE_SECONDS"] + 60)
    html = _send(client, url, fields).get_data(as_text=True)
    assert STALE not in html and "小時" in html
    assert _count() == 0


def test_back_and_send_after_the_maximum_age_still_shows_the_first_view(app, client, monkeypatch):
    url, fields = _open_form(client, factories.initiative())
    first = _send(client, url, fields)
    _later(monkeypatch, app.config["SUBMISSION_FORM_MAX_AGE_SECONDS"] + 60)
    again = _send(client, url, fields)
    assert again.status_code == 302 and again.location == first.location
    assert _count() == 1


def test_a_page_open_during_a_key_rotation_can_still_be_sent_with_the_old_key_kept(app, client):
    url, fields = _open_form(client, factories.initiative())
    app.config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]]
    app.config["SECRET_KEY"] = "a-new-secret-key"
    refused = _send(client, url, fields)  # the security token is not covered by the fallbacks
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "security token" in html and TOKEN_PROBLEM not in html
    assert form_token(html) == fields["form_token"]
    assert _send(client, url, {**fields, "csrf_token": csrf_token(html)}).status_code == 302
    assert _count() == 1


def test_back_that_fetches_the_form_again_and_resends_the_text_stores_one_view(client):
    """Real browsers often fetch the form again on Back (the session cookie changed, so the
    cached page no longer matches) and refill the text box: a new form token, the same text."""
    initiative = factories.initiative()
    url, first_fields = _open_form(client, initiative)
    first = _send(client, url, first_fields)
    client.get(first.location)
    _, refetched_fields = _open_form(client, initiative)
    assert refetched_fields["form_token"] != first_fields["form_token"]
    again = _send(client, url, refetched_fields, body="  " + factories.TRANSPORT_VIEW.replace(" ", "  ") + "\n")
    assert again.status_code == 302 and again.location == first.location
    assert ALREADY_SENT in client.get(again.location).get_data(as_text=True)
    assert _count() == 1


def test_a_different_text_from_the_same_browser_is_a_second_view(client):
    initiative = factories.initiative()
    url, first_fields = _open_form(client, initiative)
    _, second_fields = _open_form(client, initiative)
    first = _send(client, url, first_fields)
    second = _send(client, url, second_fields, body=factories.TRANSPORT_VIEW + " Also on Sundays.")
    assert first.status_code == second.status_code == 302
    assert first.location != second.location
    assert _count() == 2


def test_the_same_text_from_another_browser_is_a_second_view(app, client):
    """Campaign texts: many residents send the same words, each one is a view."""
    initiative = factories.initiative()
    other = app.test_client()
    url, first_fields = _open_form(client, initiative)
    _, second_fields = _open_form(other, initiative)
    first = _send(client, url, first_fields)
    second = _send(other, url, second_fields)
    assert first.status_code == second.status_code == 302
    assert first.location != second.location
    assert _count() == 2


def test_a_resent_form_does_not_count_against_the_submission_limit(app):
    from .conftest import RequestIsolatedClient, make_app

    limited = make_app(
        app.config["SQLALCHEMY_DATABASE_URI"], RATELIMIT_ENABLED=True, SUBMISSION_RATE_LIMIT="2 per minute"
    )
    limited.test_client_class = RequestIsolatedClient
    client = limited.test_client()
    initiative = factories.initiative()
    url, fields = _open_form(client, initiative)
    assert _send(client, url, fields).status_code == 302
    for _ in range(3):  # Back and send, again and again: nothing stored, nothing counted
        assert _send(client, url, fields).status_code == 302
    _, second_fields = _open_form(client, initiative)
    assert _send(client, url, second_fields, body="A second, different view about the buses.").status_code == 302
    assert _count() == 2


def test_form_page_is_private_but_kept_for_the_back_button(client):
    response = client.get(f"/initiatives/{factories.initiative().code}/views/new")
    cache_control = response.headers["Cache-Control"]
    assert "private" in cache_control and "no-cache" in cache_control
    assert "no-store" not in cache_control  # Back must show the same page, with the same token


def test_only_hashes_of_the_tokens_are_stored(client):
    url, fields = _open_form(client, factories.initiative())
    location = _send(client, url, fields).location
    tracking_token = location.split("?")[0].rsplit("/", 1)[1]
    sub = db.session.execute(select(Submission)).scalar_one()
    one_time = read_sending_code(fields["form_token"]).token
    assert sub.form_token_hash == intake.hash_token(one_time)
    assert sub.tracking_token_hash == intake.hash_token(tracking_token)
    assert one_time not in (sub.form_token_hash, sub.tracking_token_hash, tracking_token)


def _resend_after_key_rotation(app, client, fields, url):
    """After a rotation the old session and its security token are void, but a page that was
    already sent leads to its view all the same: nothing can be stored with it."""
    return _send(client, url, fields)


def test_resend_after_the_secret_key_changed_shows_the_reference(app, client):
    url, fields = _open_form(client, factories.initiative())
    _send(client, url, fields)
    app.config["SECRET_KEY"] = "a-new-secret-key"
    response = _resend_after_key_rotation(app, client, fields, url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    sub = db.session.execute(select(Submission)).scalar_one()
    assert "You had already sent this view" in html and sub.reference in html
    assert "/track/" not in html  # a link that would not work is not offered
    assert _count() == 1


def test_resend_after_a_rotation_with_the_old_key_kept_shows_the_same_link(app, client):
    url, fields = _open_form(client, factories.initiative())
    first = _send(client, url, fields)
    app.config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]]
    app.config["SECRET_KEY"] = "a-new-secret-key"
    response = _resend_after_key_rotation(app, client, fields, url)
    assert response.status_code == 302 and response.location == first.location
    assert _count() == 1


def test_submitting_without_a_form_token_keeps_a_random_tracking_token(app):
    data = intake.NewSubmission(body=factories.TRANSPORT_VIEW, language="en", topic_area="mobility")
    first, second = intake.submit(data), intake.submit(data)
    assert first.reference != second.reference and first.tracking_token != second.tracking_token
    assert not first.already_sent and not second.already_sent
    assert db.session.get(Submission, first.submission_id).form_token_hash is None


def test_the_same_form_again_is_refused_by_the_index_and_shows_the_first_confirmation(app):
    """No look-up before storing: the unique index on the form token refuses the copy (whether
    the first sending committed long ago or a moment ago), and the answer is the first receipt."""
    token = intake.new_form_token()
    data = intake.NewSubmission(body=factories.TRANSPORT_VIEW, language="en", topic_area="mobility")
    winner = intake.submit(data, form_token=token)
    loser = intake.submit(data, form_token=token)
    assert loser.already_sent and not winner.already_sent
    assert (loser.submission_id, loser.reference, loser.tracking_token) == (
        winner.submission_id,
        winner.reference,
        winner.tracking_token,
    )
    assert _count() == 1
    assert _actions(winner.submission_id) == ["submitted", "auto_routed"]
    # The refused attempt took no reference number: the next view gets the next one.
    other = intake.submit(data, form_token=intake.new_form_token())
    assert int(other.reference[-6:]) == int(winner.reference[-6:]) + 1


THREADS = 8


def test_the_same_form_sent_at_once_from_many_tabs_stores_one_view(app):
    token = intake.new_form_token()
    area = factories.initiative().area_code  # plain values: threads share no ORM objects
    db.session.rollback()  # end the test's read transaction: its snapshot would hide the threads' writes
    receipts, errors = [], []
    barrier = threading.Barrier(THREADS)

    def send():
        with app.app_context():
            try:
                barrier.wait()
                receipts.append(
                    intake.submit(
                        intake.NewSubmission(body=factories.TRANSPORT_VIEW, language="en", topic_area=area),
                        form_token=token,
                    )
                )
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _count() == 1
    assert len({(r.submission_id, r.reference, r.tracking_token) for r in receipts}) == 1
    assert sorted(r.already_sent for r in receipts) == [False] + [True] * (THREADS - 1)
    assert _actions(receipts[0].submission_id) == ["submitted", "auto_routed"]


def test_double_click_through_the_web_stores_one_view(app, client):
    """Two requests with one form, at the same moment, from one browser."""
    url, fields = _open_form(client, factories.initiative())
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    session_cookie = client.get_cookie(cookie_name).value
    db.session.commit()
    responses, errors = [], []
    barrier = threading.Barrier(2)

    def click():
        tab = app.test_client()  # plain client in its own app context, with the same browser cookie
        tab.set_cookie(cookie_name, session_cookie)
        with app.app_context():
            try:
                barrier.wait()
                responses.append(_send(tab, url, fields))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [r.status_code for r in responses] == [302, 302]
    assert responses[0].location == responses[1].location
    db.session.rollback()
    assert _count() == 1
