"""Starting the app safely: no demo account in production, private files from the start."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner
from flask.cli import FlaskGroup
from flask_migrate import upgrade

import feedback_app
from feedback_app.auth import services as accounts
from feedback_app.auth.demo_accounts import DEMO_ACCOUNTS
from feedback_app.auth.safety import UnsafeForProduction
from feedback_app.extensions import db

from .conftest import MIGRATIONS, Browser, RequestIsolatedClient, csrf_token, make_app

PRODUCTION_KEY = "a-production-key-from-the-environment"
DEMO_ADMIN = next(d for d in DEMO_ACCOUNTS if d.role == "admin")


@pytest.fixture
def demo_admin(app):
    accounts.create_user(DEMO_ADMIN.email, DEMO_ADMIN.password, DEMO_ADMIN.role)
    # The operator's own administrator: the demo one may not be the last (see test_cli.py).
    accounts.create_user("it.admin@example.org", "a-long-password", "admin")
    db.session.commit()
    return DEMO_ADMIN.email


@pytest.fixture
def production_env(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", PRODUCTION_KEY)


def production_app(app):
    """What gunicorn builds: the same database, SECRET_KEY from the environment."""
    other = make_app(app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY=PRODUCTION_KEY)
    with other.app_context():
        db.engine.dispose()
    return other


def test_production_refuses_to_start_while_a_demo_account_is_active(app, demo_admin, production_env):
    with pytest.raises(UnsafeForProduction) as refused:
        make_app(app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY=PRODUCTION_KEY)
    message = str(refused.value)
    assert DEMO_ADMIN.email in message
    assert f"flask users deactivate --email {DEMO_ADMIN.email}" in message


def test_production_starts_once_the_demo_account_is_deactivated(app, demo_admin, production_env):
    accounts.set_active(accounts.find_by_email(demo_admin).id, False)
    assert production_app(app).config["SECRET_KEY_FROM_ENVIRONMENT"] is True


def test_a_generated_key_is_not_production_and_starts_with_demo_accounts(app, demo_admin, tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(feedback_app, "INSTANCE_DIR", tmp_path / "instance")
    local = make_app(app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY=None)
    assert local.config["SECRET_KEY_FROM_ENVIRONMENT"] is False
    with local.app_context():
        db.engine.dispose()


def test_a_key_given_in_code_is_not_production(app, demo_admin):
    # The test configuration sets a key but not in the environment: tests are not production.
    assert make_app(app.config["SQLALCHEMY_DATABASE_URI"]).config["SECRET_KEY_FROM_ENVIRONMENT"] is False


def test_the_fix_it_asks_for_works_from_the_command_line(app, demo_admin, production_env):
    """`flask users deactivate` loads the same app, so it must not be refused itself."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    cli = FlaskGroup(create_app=lambda: make_app(url, SECRET_KEY=PRODUCTION_KEY))
    served = CliRunner().invoke(cli, ["run", "--no-reload"])
    assert isinstance(served.exception, UnsafeForProduction)

    fixed = CliRunner().invoke(cli, ["users", "deactivate", "--email", demo_admin])
    assert fixed.exit_code == 0, fixed.output
    db.session.expire_all()
    assert not accounts.find_by_email(demo_admin).active
    production_app(app)  # starts now


def test_a_database_not_yet_migrated_does_not_stop_the_first_start(tmp_path, production_env, monkeypatch):
    monkeypatch.setattr(feedback_app, "INSTANCE_DIR", tmp_path / "instance")
    fresh = make_app(f"sqlite:///{tmp_path / 'instance' / 'feedback.db'}", SECRET_KEY=PRODUCTION_KEY)
    with fresh.app_context():
        upgrade(directory=MIGRATIONS)  # `flask db upgrade` on the first start
        db.engine.dispose()


# --- Demo accounts in production mode, after start-up ------------------------------------------
# ALLOW_DEMO_ACCOUNTS is left at its default (on) in these tests: production mode alone must
# keep the demo accounts out, at every sign-in and every reactivation.


def _production_cli(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    return FlaskGroup(create_app=lambda: make_app(url, SECRET_KEY=PRODUCTION_KEY))


@pytest.fixture
def deactivated_demo_admin(app, demo_admin):
    accounts.set_active(accounts.find_by_email(demo_admin).id, False)
    db.session.commit()
    return accounts.find_by_email(demo_admin)


def test_in_production_mode_a_demo_account_cannot_sign_in_even_if_active_again(
    app, deactivated_demo_admin, production_env
):
    prod = production_app(app)
    assert prod.config["ALLOW_DEMO_ACCOUNTS"] is True
    # Reactivated after the start-up check passed (here through a local app on the same database).
    accounts.set_active(deactivated_demo_admin.id, True)
    db.session.commit()
    prod.test_client_class = RequestIsolatedClient
    with prod.app_context():
        client = prod.test_client()
        page = client.get("/account/login")
        response = client.post(
            "/account/login",
            data={
                "csrf_token": csrf_token(page.get_data(as_text=True)),
                "email": DEMO_ADMIN.email,
                "password": DEMO_ADMIN.password,
            },
        )
        assert response.status_code == 400
        assert "The e-mail address or password is not right." in response.get_data(as_text=True)
        assert client.get("/admin/users").status_code == 302
        db.session.remove()


def test_in_production_mode_an_admin_cannot_reactivate_a_demo_account(app, deactivated_demo_admin, production_env):
    prod = production_app(app)
    prod.test_client_class = RequestIsolatedClient
    with prod.app_context():
        browser = Browser(prod.test_client())
        assert browser.login("it.admin@example.org", "a-long-password").status_code == 200
        url = f"/admin/users/{deactivated_demo_admin.id}"
        response = browser.submit_form(url, {}, action=url + "/reactivate")
        assert response.status_code == 400
        assert "demo account, whose password is public" in response.get_data(as_text=True)
        db.session.expire_all()
        assert not accounts.find_by_email(DEMO_ADMIN.email).active
        db.session.remove()


def test_in_production_mode_the_command_line_refuses_demo_accounts(app, deactivated_demo_admin, production_env):
    cli = _production_cli(app)
    reactivated = CliRunner().invoke(cli, ["users", "reactivate", "--email", DEMO_ADMIN.email])
    assert reactivated.exit_code != 0 and "demo account" in reactivated.output, reactivated.output
    db.session.expire_all()
    assert not accounts.find_by_email(DEMO_ADMIN.email).active
    demo = CliRunner().invoke(cli, ["users", "demo"])
    assert demo.exit_code != 0 and "production mode" in demo.output, demo.output
    link = CliRunner().invoke(cli, ["users", "enrolment-link", "--email", DEMO_ADMIN.email])
    assert link.exit_code != 0
    created = CliRunner().invoke(
        cli,
        ["users", "create", "--email", "moderator@demo.scf.hk", "--role", "moderator"],
        input="a-long-password\na-long-password\n",
    )
    assert created.exit_code != 0 and "demo account" in created.output, created.output
    assert accounts.find_by_email("moderator@demo.scf.hk") is None


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def fresh_instance(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setattr(feedback_app, "INSTANCE_DIR", instance)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    old_umask = os.umask(0o022)  # the usual default, under which files come out 0644
    yield instance
    os.umask(old_umask)


def test_instance_folder_secret_key_and_database_are_private_from_the_start(fresh_instance, monkeypatch):
    # Nothing may be made private after the fact: a chmod means it was readable before.
    def no_chmod(*args, **kwargs):
        raise AssertionError("created readable, then chmod-ed")

    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(os, "fchmod", no_chmod)
    database = fresh_instance / "feedback.db"
    app = make_app(f"sqlite:///{database}", SECRET_KEY=None)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        accounts.create_user("first@example.org", "a-long-password", "admin")  # a write: WAL and SHM exist now
        assert os.path.exists(f"{database}-wal") and os.path.exists(f"{database}-shm")
        assert mode(fresh_instance) == 0o700
        assert mode(fresh_instance / "secret_key") == 0o600
        for path in (database, f"{database}-wal", f"{database}-shm"):
            assert mode(path) == 0o600, path
        db.session.remove()
        db.engine.dispose()
    assert len(app.config["SECRET_KEY"]) == 64


def test_the_generated_key_is_kept_between_starts_and_no_temporary_file_is_left(fresh_instance):
    first = make_app("sqlite://", SECRET_KEY=None).config["SECRET_KEY"]
    second = make_app("sqlite://", SECRET_KEY=None).config["SECRET_KEY"]
    assert first == second
    assert sorted(p.name for p in fresh_instance.iterdir()) == ["secret_key"]
