"""Command-line tasks: `flask catalogue load`, `flask users create`, `flask classifier ...`."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .auth import services as accounts
from .catalogue import services as catalogue
from .extensions import db
from .models import ClassifierVersion, Role

catalogue_cli = AppGroup("catalogue", help="Reference data: smart areas, bureaus, initiatives.")
users_cli = AppGroup("users", help="Accounts.")
classifier_cli = AppGroup("classifier", help="Classifier versions stored in the database.")

# Demo accounts for trying the site locally. Their passwords are public (README), so they are
# refused unless ALLOW_DEMO_ACCOUNTS is on; production sets it off.
DEMO_ACCOUNTS = [
    ("resident@demo.scf.hk", "resident-demo-2026", Role.RESIDENT, None, "Demo Resident"),
    ("moderator@demo.scf.hk", "moderator-demo-2026", Role.MODERATOR, None, "Demo Moderator"),
    ("officer.tlb@demo.scf.hk", "officer-demo-2026", Role.OFFICER, "TLB", "Demo Officer, TLB"),
    ("admin@demo.scf.hk", "admin-demo-2026", Role.ADMIN, None, "Demo Admin"),
]


@catalogue_cli.command("load")
def load_catalogue():
    """Load or update reference data from feedback_app/catalogue/data (safe to re-run)."""
    try:
        report = catalogue.load_reference_data()
    except catalogue.ReferenceDataError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Reference data: {report.areas} smart areas, {report.bureaus} bureaus, {report.initiatives} initiatives.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--bureau", help="Bureau code, for bureau officers (e.g. TLB).")
@click.option("--name", "display_name")
@click.password_option()
def create_user(email, role, bureau, display_name, password):
    """Create an account."""
    try:
        user = accounts.create_user(email, password, Role(role), display_name=display_name, bureau=bureau)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {user.role} {user.email}" + (f" ({user.bureau_code})" if user.bureau_code else ""))


@users_cli.command("demo")
def create_demo_accounts():
    """Create one demo account per role (if missing) and print how to sign in."""
    if not current_app.config["ALLOW_DEMO_ACCOUNTS"]:
        raise click.ClickException("ALLOW_DEMO_ACCOUNTS is off; demo accounts are not allowed here.")
    click.echo("Demo accounts (local use only):")
    for email, password, role, bureau, name in DEMO_ACCOUNTS:
        if accounts.find_by_email(email) is None:
            accounts.create_user(email, password, role, display_name=name, bureau=bureau)
        click.echo(f"  {role.value:<10} {email:<26} password: {password}")


@classifier_cli.command("train")
@click.option("--activate/--no-activate", default=True, show_default=True)
@click.option("--evaluate/--no-evaluate", default=True, show_default=True, help="Cross-validate before training.")
def train(activate, evaluate):
    """Train a new version on the corpus, the catalogue and moderators' decisions."""
    from . import routing

    version = routing.train_version(activate=activate, evaluate=evaluate)
    _echo_version(version)


@classifier_cli.command("ensure")
def ensure():
    """Train and activate a first version if none is active (used by `make run`)."""
    from . import routing

    problem = routing.active_version_problem()
    if problem is None:
        click.echo("A classifier version is active.")
        return
    click.echo(f"No usable classifier version ({problem}): training one, cross-validating first...")
    _echo_version(routing.train_version(activate=True, evaluate=True))


@classifier_cli.command("list")
def list_versions():
    for v in db.session.execute(select(ClassifierVersion).order_by(ClassifierVersion.id)).scalars():
        _echo_version(v)


@classifier_cli.command("activate")
@click.argument("version_id", type=int)
def activate(version_id):
    from . import routing

    try:
        routing.activate(version_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Version {version_id} is active.")


def _echo_version(v: ClassifierVersion) -> None:
    m = v.metrics or {}
    acc = ""
    if m:
        acc = f" cv area acc {m.get('area', {}).get('accuracy', '?')}, bureau acc {m.get('bureau', {}).get('accuracy', '?')}"
    click.echo(f"{'*' if v.is_active else ' '} #{v.id} {v.label} sha256 {v.sha256[:12]}…{acc}")


def register(app: Flask) -> None:
    app.cli.add_command(catalogue_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(classifier_cli)
