"""`flask users ...`: managing accounts from the command line, failures included."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from feedback_app.auth import services as accounts
from feedback_app.auth.demo_accounts import DEMO_ACCOUNTS
from feedback_app.auth.forms import LoginForm
from feedback_app.extensions import db
from feedback_app.kernel.models import AuditEvent, Role, User

from . import factories

NEW_PASSWORD = "a-new-long-password"
LINK_RE = re.compile(r"set up two-step sign-in: (\S+)")


def audit_of(user: User) -> list[AuditEvent]:
    return list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.target_user_id == user.id).order_by(AuditEvent.id)
        ).scalars()
    )


def reloaded(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def assert_failed(result, message: str):
    assert result.exit_code != 0, result.output
    assert message in result.output, result.output


# --- create ------------------------------------------------------------------------------


def test_create_makes_an_account_that_can_sign_in_and_audits_it(app, runner, browser):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            " New.Officer@Example.org ",
            "--role",
            "officer",
            "--bureau",
            "tlb",
            "--name",
            "New Officer",
        ],
        input="a-long-password\na-long-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created officer new.officer@example.org (TLB), by system (command line)." in result.output
    user = accounts.find_by_email("new.officer@example.org")
    assert user.email == "new.officer@example.org" and user.bureau_code == "TLB"
    created, issued = audit_of(user)
    assert (created.action, created.actor_id, created.submission_id) == ("account_created", None, None)
    assert created.after == {"role": "officer", "bureau": "TLB"}
    assert (issued.action, issued.actor_id) == ("enrolment_link_issued", None)
    # Staff get their enrolment link printed, with the site's address; it signs them in.
    link = LINK_RE.search(result.output).group(1)
    assert link.startswith("http://127.0.0.1:5000/account/enrol/")
    browser.submit_form(link.removeprefix("http://127.0.0.1:5000"), {"password": "a-long-password"})
    browser.enrol_two_factor(link.removeprefix("http://127.0.0.1:5000") + "/authenticator")
    assert browser.client.get("/bureau/").status_code == 200


def test_create_prints_the_link_with_the_address_given(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "mod@example.org",
            "--role",
            "moderator",
            "--base-url",
            "https://feedback.example.gov.hk/",
        ],
        input="a-long-password\na-long-password\n",
    )
    assert result.exit_code == 0, result.output
    assert LINK_RE.search(result.output).group(1).startswith("https://feedback.example.gov.hk/account/enrol/")
    resident = runner.invoke(
        args=["users", "create", "--email", "r@example.org", "--role", "resident"],
        input="a-long-password\na-long-password\n",
    )
    assert resident.exit_code == 0 and "Enrolment link" not in resident.output


def test_enrolment_link_issues_a_new_link_and_voids_the_old(app, runner, client):
    user = factories.user(Role.MODERATOR)
    first = LINK_RE.search(runner.invoke(args=["users", "enrolment-link", "--email", user.email]).output).group(1)
    result = runner.invoke(args=["users", "enrolment-link", "--email", user.email.upper()])
    assert result.exit_code == 0, result.output
    assert "any older one no longer works" in result.output
    second = LINK_RE.search(result.output).group(1)
    assert client.get(first.removeprefix("http://127.0.0.1:5000")).status_code == 410
    assert client.get(second.removeprefix("http://127.0.0.1:5000")).status_code == 200
    assert [e.action for e in audit_of(user)] == ["account_created", "enrolment_link_issued", "enrolment_link_issued"]


def test_enrolment_link_failures(app, runner):
    resident = factories.user(Role.RESIDENT)
    assert_failed(
        runner.invoke(args=["users", "enrolment-link", "--email", resident.email]),
        "Residents turn on two-step sign-in themselves",
    )
    assert_failed(
        runner.invoke(args=["users", "enrolment-link", "--email", "nobody@example.org"]), "There is no account"
    )
    gone = factories.user(Role.MODERATOR)
    accounts.set_active(gone.id, False)
    assert_failed(runner.invoke(args=["users", "enrolment-link", "--email", gone.email]), "deactivated")


@pytest.mark.parametrize(
    "email", ["admin@localhost", "someone@intranet.test", "two words@example.org", "a@b..hk", "no-at-sign"]
)
def test_create_refuses_an_email_the_sign_in_form_would_refuse(app, runner, email):
    result = runner.invoke(
        args=["users", "create", "--email", email, "--role", "moderator"], input="a-long-password\na-long-password\n"
    )
    assert_failed(result, "is not a valid e-mail address")
    assert db.session.execute(select(User)).first() is None


EMAILS = [
    "admin@localhost",
    "ops@intranet.test",
    "a b@example.org",
    "x@y..hk",
    "plain",
    "@example.org",
    "staff@example.org",
    "Chan.Tai-Man@gov.hk",
    "李@例子.香港",
    "o'brien@example.co.uk",
]


def test_the_sign_in_form_and_create_user_agree_on_every_email(app):
    """One rule: an address an account can be created for is one the sign-in form accepts."""
    for email in EMAILS:
        with app.test_request_context():
            form = LoginForm(data={"email": email})
            form_accepts = form.email.validate(form)
        try:
            accounts.normalise_email(email)
            rule_accepts = True
        except accounts.AccountError:
            rule_accepts = False
        assert form_accepts == rule_accepts, email


def test_create_refuses_a_short_password_a_missing_bureau_and_a_duplicate(app, runner):
    ok = "a-long-password\na-long-password\n"
    assert_failed(
        runner.invoke(
            args=["users", "create", "--email", "m@example.org", "--role", "moderator"], input="short\nshort\n"
        ),
        "at least 10 characters",
    )
    assert_failed(
        runner.invoke(args=["users", "create", "--email", "o@example.org", "--role", "officer"], input=ok),
        "needs a valid bureau",
    )
    assert_failed(
        runner.invoke(
            args=["users", "create", "--email", "o@example.org", "--role", "officer", "--bureau", "XYZ"], input=ok
        ),
        "needs a valid bureau",
    )
    assert_failed(
        runner.invoke(
            args=["users", "create", "--email", "m@example.org", "--role", "moderator", "--bureau", "TLB"], input=ok
        ),
        "Only bureau officers belong to a bureau",
    )
    assert (
        runner.invoke(args=["users", "create", "--email", "m@example.org", "--role", "moderator"], input=ok).exit_code
        == 0
    )
    assert_failed(
        runner.invoke(args=["users", "create", "--email", "M@EXAMPLE.ORG", "--role", "moderator"], input=ok),
        "already exists",
    )
    assert db.session.execute(select(db.func.count(User.id))).scalar() == 1


# --- list --------------------------------------------------------------------------------


def test_list_shows_every_account_and_filters_by_role_and_inactive(app, runner):
    officer = factories.user(Role.OFFICER, bureau="HB", email="officer@example.org")
    factories.user(Role.MODERATOR, email="moderator@example.org")
    gone = factories.user(Role.MODERATOR, email="gone@example.org")
    accounts.set_active(gone.id, False)

    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["E-MAIL", "ROLE", "BUREAU", "ACTIVE", "TWO-FACTOR", "CREATED"]
    row = next(line for line in lines if line.startswith("officer@example.org")).split()
    assert row[:5] == ["officer@example.org", "officer", "HB", "yes", "off"]
    assert row[5] == reloaded(officer).created_at.strftime("%Y-%m-%d")
    assert "3 account(s)." in result.output

    moderators = runner.invoke(args=["users", "list", "--role", "moderator"]).output
    assert "moderator@example.org" in moderators and "gone@example.org" in moderators
    assert "officer@example.org" not in moderators
    inactive = runner.invoke(args=["users", "list", "--inactive"]).output
    assert "gone@example.org" in inactive and "moderator@example.org" not in inactive
    assert_failed(runner.invoke(args=["users", "list", "--role", "boss"]), "Invalid value for '--role'")


def test_list_shows_two_factor_on_for_an_enrolled_account(app, runner):
    user = factories.user(Role.MODERATOR, email="enrolled@example.org")
    db.session.get(User, user.id).totp_secret = "JBSWY3DPEHPK3PXP"
    db.session.commit()
    row = next(
        line
        for line in runner.invoke(args=["users", "list"]).output.splitlines()
        if line.startswith("enrolled@example.org")
    )
    assert row.split()[4] == "on"


# --- set-password --------------------------------------------------------------------------


def test_set_password_asks_twice_ends_sessions_and_audits_without_the_password(app, runner):
    user = factories.user(Role.MODERATOR)
    version = user.session_version
    result = runner.invoke(
        args=["users", "set-password", "--email", user.email.upper()], input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "by system (command line)" in result.output
    user = reloaded(user)
    assert user.check_password(NEW_PASSWORD) and user.session_version == version + 1
    event = audit_of(user)[-1]
    assert (event.action, event.actor_id) == ("password_changed", None)
    assert NEW_PASSWORD not in str(event.before) + str(event.after)
    assert user.password_hash not in str(event.before) + str(event.after)


def test_set_password_failures(app, runner):
    user = factories.user(Role.MODERATOR)
    mismatch = runner.invoke(
        args=["users", "set-password", "--email", user.email], input=f"{NEW_PASSWORD}\nsomething-else-1\n"
    )
    assert mismatch.exit_code != 0 and "do not match" in mismatch.output
    assert_failed(
        runner.invoke(args=["users", "set-password", "--email", user.email], input="short\nshort\n"),
        "at least 10 characters",
    )
    assert_failed(
        runner.invoke(
            args=["users", "set-password", "--email", "nobody@example.org"], input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
        ),
        "There is no account for nobody@example.org",
    )
    assert reloaded(user).check_password(factories.PASSWORD)


# --- set-role ------------------------------------------------------------------------------


def test_set_role_changes_role_and_bureau_and_audits_before_and_after(app, runner):
    user = factories.user(Role.MODERATOR)
    version = user.session_version
    result = runner.invoke(args=["users", "set-role", "--email", user.email, "--role", "officer", "--bureau", "HB"])
    assert result.exit_code == 0, result.output
    assert f"{user.email}: officer (HB), active (by system (command line))." in result.output
    user = reloaded(user)
    assert (user.role, user.bureau_code, user.session_version) == ("officer", "HB", version + 1)
    event = audit_of(user)[-1]
    assert event.action == "role_changed" and event.actor_id is None
    assert event.before == {"role": "moderator", "bureau": None}
    assert event.after == {"role": "officer", "bureau": "HB"}

    # Back to moderator: the bureau goes with the officer role.
    assert runner.invoke(args=["users", "set-role", "--email", user.email, "--role", "moderator"]).exit_code == 0
    assert reloaded(user).bureau_code is None


def test_set_role_failures(app, runner):
    user = factories.user(Role.MODERATOR)
    assert_failed(
        runner.invoke(args=["users", "set-role", "--email", user.email, "--role", "officer"]), "needs a valid bureau"
    )
    assert_failed(
        runner.invoke(args=["users", "set-role", "--email", user.email, "--role", "officer", "--bureau", "NOPE"]),
        "needs a valid bureau",
    )
    assert_failed(
        runner.invoke(args=["users", "set-role", "--email", user.email, "--role", "admin", "--bureau", "HB"]),
        "Only bureau officers belong to a bureau",
    )
    assert_failed(
        runner.invoke(args=["users", "set-role", "--email", user.email, "--role", "king"]), "Invalid value for '--role'"
    )
    assert_failed(
        runner.invoke(args=["users", "set-role", "--email", "nobody@example.org", "--role", "admin"]),
        "There is no account",
    )
    assert reloaded(user).role == "moderator"
    assert [e.action for e in audit_of(user)] == ["account_created"]


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(app, runner):
    admin = factories.user(Role.ADMIN)
    assert_failed(
        runner.invoke(args=["users", "set-role", "--email", admin.email, "--role", "moderator"]),
        "last active administrator",
    )
    assert_failed(runner.invoke(args=["users", "deactivate", "--email", admin.email]), "last active administrator")
    second = factories.user(Role.ADMIN)
    assert runner.invoke(args=["users", "set-role", "--email", admin.email, "--role", "moderator"]).exit_code == 0
    assert_failed(runner.invoke(args=["users", "deactivate", "--email", second.email]), "last active administrator")
    admin, second = reloaded(admin), reloaded(second)
    assert (admin.role, second.role, second.active) == ("moderator", "admin", True)


# --- deactivate / reactivate -------------------------------------------------------------------


def test_deactivate_and_reactivate(app, runner, browser):
    user = factories.user(Role.RESIDENT)
    version = user.session_version
    result = runner.invoke(args=["users", "deactivate", "--email", user.email])
    assert result.exit_code == 0, result.output
    assert "deactivated" in result.output
    user = reloaded(user)
    assert not user.active and user.session_version == version + 1
    assert "The e-mail address or password is not right." in browser.login(user.email).get_data(as_text=True)

    assert runner.invoke(args=["users", "reactivate", "--email", user.email]).exit_code == 0
    user = reloaded(user)
    assert user.active
    assert [(e.action, e.before, e.after, e.actor_id) for e in audit_of(user)[1:]] == [
        ("account_deactivated", {"active": True}, {"active": False}, None),
        ("account_reactivated", {"active": False}, {"active": True}, None),
    ]
    assert_failed(runner.invoke(args=["users", "deactivate", "--email", "nobody@example.org"]), "There is no account")


def test_deactivating_twice_changes_nothing_more(app, runner):
    user = factories.user(Role.RESIDENT)
    runner.invoke(args=["users", "deactivate", "--email", user.email])
    version = reloaded(user).session_version
    assert runner.invoke(args=["users", "deactivate", "--email", user.email]).exit_code == 0
    assert reloaded(user).session_version == version
    assert [e.action for e in audit_of(user)] == ["account_created", "account_deactivated"]


# --- demo ------------------------------------------------------------------------------------


def test_demo_accounts_are_refused_when_not_allowed(app, runner):
    app.config["ALLOW_DEMO_ACCOUNTS"] = False
    assert_failed(runner.invoke(args=["users", "demo"]), "ALLOW_DEMO_ACCOUNTS is off")
    assert db.session.execute(select(User)).first() is None


def test_demo_creates_one_account_per_role_once(app, runner):
    app.config["ALLOW_DEMO_ACCOUNTS"] = True
    assert runner.invoke(args=["users", "demo"]).exit_code == 0
    assert runner.invoke(args=["users", "demo"]).exit_code == 0
    roles = sorted(db.session.execute(select(User.role)).scalars())
    assert roles == ["admin", "moderator", "officer", "resident"]


def test_demo_prints_an_enrolment_link_for_each_demo_staff_account_not_enrolled(app, runner, browser):
    """So a first `make run` still lets one try the staff pages."""
    app.config["ALLOW_DEMO_ACCOUNTS"] = True
    output = runner.invoke(args=["users", "demo"]).output
    links = LINK_RE.findall(output)
    assert len(links) == 3 and all(link.startswith("http://127.0.0.1:5000/account/enrol/") for link in links)
    moderator_link = links[[d.role for d in DEMO_ACCOUNTS if d.role != "resident"].index("moderator")]
    path = moderator_link.removeprefix("http://127.0.0.1:5000")
    browser.submit_form(path, {"password": "moderator-demo-2026"})
    browser.enrol_two_factor(path + "/authenticator")
    assert browser.client.get("/moderation/queue").status_code == 200
    # Run again: a link for the two that have not enrolled yet, none for the moderator.
    again = runner.invoke(args=["users", "demo"]).output
    assert len(LINK_RE.findall(again)) == 2
    assert "moderator@demo.scf.hk" in again
