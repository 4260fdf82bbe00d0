"""Command-line tasks: `flask setup`, `flask catalogue load`, `flask users create`, `flask classifier ...`,
`flask bureau deadlines`, `flask stats rebuild`."""

from __future__ import annotations

import click
from flask import Flask, current_app, url_for
from flask.cli import AppGroup
from flask_migrate import upgrade

from .admin.services import AccountFilter, fill_missing_due_dates, two_factor_on
from .auth import demo_accounts, enrolment
from .auth import services as accounts
from .auth.demo_accounts import DEMO_ACCOUNTS
from .kernel import catalogue, public
from .kernel.database import write_transaction
from .kernel.models import ClassifierVersion, Role, User
from .routing import versions as model_versions
from .stats import rollups as stats_rollups
from .web.simplified import write_simplified

catalogue_cli = AppGroup("catalogue", help="Reference data: smart areas, bureaus, initiatives.")
users_cli = AppGroup("users", help="Accounts.")
classifier_cli = AppGroup("classifier", help="Classifier versions stored in the database.")
bureau_cli = AppGroup("bureau", help="Bureaus' answer deadlines.")
stats_cli = AppGroup("stats", help="The public statistics' rollup tables.")


@catalogue_cli.command("load")
def load_catalogue():
    """Load or update reference data from feedback_app/kernel/reference_data (safe to re-run)."""
    try:
        report = catalogue.load_reference_data()
    except catalogue.ReferenceDataError as exc:
        raise click.ClickException(str(exc)) from exc
    # Names and summaries are on every public page: the public pages' caches start afresh.
    with write_transaction():
        public.mark_changed()
    click.echo(
        f"Reference data: {report.areas} smart areas, {report.bureaus} bureaus, {report.initiatives} initiatives."
    )


# Changes made here are audited with no actor: the history reads "system (command line)".
CLI_ACTOR = "system (command line)"
ROLE_CHOICE = click.Choice([r.value for r in Role])


def _fail(exc: accounts.AccountError) -> click.ClickException:
    detail = f" ({exc.detail})" if exc.detail else ""
    return click.ClickException(f"{exc}{detail}")


def _account(email: str) -> User:
    user = accounts.find_by_email(email)
    if user is None:
        raise click.ClickException(f"There is no account for {email.strip()}.")
    return user


# Enrolment links are printed with the address staff open the site at; there is no request here
# to take it from. The default is what `make run` serves.
LOCAL_BASE_URL = "http://127.0.0.1:5000"
base_url_option = click.option(
    "--base-url",
    default=LOCAL_BASE_URL,
    show_default=True,
    help="The site's address as staff open it, for the enrolment link printed.",
)


def _link_url(link: enrolment.IssuedLink, base_url: str) -> str:
    # Built by the route itself, so the printed link is the one the site answers.
    with current_app.test_request_context(base_url=base_url.rstrip("/") or LOCAL_BASE_URL):
        return url_for("auth.enrol_with_link", token=link.token, _external=True)


def _echo_link(link: enrolment.IssuedLink, base_url: str, indent: str = "") -> None:
    click.echo(
        f"{indent}Enrolment link (works once, until {link.expires_at:%Y-%m-%d %H:%M} UTC), to set up "
        f"two-step sign-in: {_link_url(link, base_url)}"
    )


def _describe(user: User) -> str:
    bureau = f" ({user.bureau_code})" if user.bureau_code else ""
    return f"{user.email}: {user.role}{bureau}, {'active' if user.active else 'deactivated'}"


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", type=ROLE_CHOICE, required=True)
@click.option("--bureau", help="Bureau code, for bureau officers (e.g. TLB).")
@click.option("--name", "display_name")
@base_url_option
@click.password_option()
def create_user(email, role, bureau, display_name, base_url, password):
    """Create an account; staff get an enrolment link to hand over with the password."""
    try:
        user = accounts.create_user(email, password, Role(role), display_name=display_name, bureau=bureau)
    except accounts.AccountError as exc:
        raise _fail(exc) from exc
    click.echo(
        f"Created {user.role} {user.email}"
        + (f" ({user.bureau_code})" if user.bureau_code else "")
        + f", by {CLI_ACTOR}."
    )
    if enrolment.needs_link(user):
        _echo_link(accounts.issue_enrolment_link(user.id), base_url)


@users_cli.command("enrolment-link")
@click.option("--email", required=True)
@base_url_option
def enrolment_link(email, base_url):
    """Issue a new enrolment link for a staff account without two-step sign-in (older ones stop working)."""
    user = _account(email)
    try:
        link = accounts.issue_enrolment_link(user.id)
    except accounts.AccountError as exc:
        raise _fail(exc) from exc
    click.echo(f"New enrolment link for {user.email}, by {CLI_ACTOR}; any older one no longer works.")
    _echo_link(link, base_url)


@users_cli.command("list")
@click.option("--role", type=ROLE_CHOICE, help="Only accounts with this role.")
@click.option("--inactive", is_flag=True, help="Only deactivated accounts.")
def list_users(role, inactive):
    """List accounts: e-mail, role, bureau, active, two-factor, created."""
    users = AccountFilter(role=role, active=False if inactive else None).all()
    rows = [("E-MAIL", "ROLE", "BUREAU", "ACTIVE", "TWO-FACTOR", "CREATED")]
    rows += [
        (
            u.email,
            u.role,
            u.bureau_code or "-",
            "yes" if u.active else "no",
            "on" if two_factor_on(u) else "off",
            u.created_at.strftime("%Y-%m-%d"),
        )
        for u in users
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    click.echo(f"{len(users)} account(s).")


@users_cli.command("set-password")
@click.option("--email", required=True)
@click.password_option(prompt="New password")
def set_password(email, password):
    """Set a new password (asked twice); every session of the account ends."""
    user = _account(email)
    try:
        accounts.change_password(user.id, password, actor=None)
    except accounts.AccountError as exc:
        raise _fail(exc) from exc
    click.echo(f"Password changed for {user.email} by {CLI_ACTOR}; its sessions have ended.")


@users_cli.command("set-role")
@click.option("--email", required=True)
@click.option("--role", type=ROLE_CHOICE, required=True)
@click.option("--bureau", help="Bureau code, required for bureau officers (e.g. TLB).")
def set_role(email, role, bureau):
    """Change an account's role (and bureau, for officers); its sessions end."""
    user = _account(email)
    try:
        user = accounts.change_role(user.id, Role(role), bureau, actor=None)
    except accounts.AccountError as exc:
        raise _fail(exc) from exc
    click.echo(f"{_describe(user)} (by {CLI_ACTOR}).")


@users_cli.command("deactivate")
@click.option("--email", required=True)
def deactivate(email):
    """Stop an account signing in and end its sessions (its history is kept)."""
    _set_active(email, False)


@users_cli.command("reactivate")
@click.option("--email", required=True)
def reactivate(email):
    """Let a deactivated account sign in again."""
    _set_active(email, True)


def _set_active(email: str, active: bool) -> None:
    user = _account(email)
    try:
        user = accounts.set_active(user.id, active, actor=None)
    except accounts.AccountError as exc:
        raise _fail(exc) from exc
    click.echo(f"{_describe(user)} (by {CLI_ACTOR}).")


@users_cli.command("demo")
@base_url_option
def create_demo_accounts(base_url):
    """Create one demo account per role (if missing) and print how to sign in: for each demo staff
    account that has not set up two-step sign-in yet, a new enrolment link."""
    if not demo_accounts.allowed(current_app.config):
        why = (
            "SECRET_KEY comes from the environment (production mode), where demo accounts, whose passwords "
            "are public, are never allowed"
            if current_app.config.get("SECRET_KEY_FROM_ENVIRONMENT")
            else "ALLOW_DEMO_ACCOUNTS is off; demo accounts are not allowed here"
        )
        raise click.ClickException(why + ".")
    click.echo("Demo accounts (local use only; their passwords are public):")
    for demo in DEMO_ACCOUNTS:
        user = accounts.find_by_email(demo.email)
        if user is None:
            user = accounts.create_user(
                demo.email, demo.password, demo.role, display_name=demo.display_name, bureau=demo.bureau
            )
        click.echo(f"  {demo.role.value:<10} {demo.email:<26} password: {demo.password}")
        if user.active and enrolment.needs_link(user):
            _echo_link(accounts.issue_enrolment_link(user.id), base_url, indent=" " * 13)


@classifier_cli.command("retrain")
@click.option("--force", is_flag=True, help="Activate the new version even if the quality gate finds it worse.")
def retrain(force):
    """Train on the corpus and moderators' decisions; activate only if not worse (the quality gate)."""
    version, gate = model_versions.train_version(activate="always" if force else "if_not_worse")
    _echo_version(version)
    if gate.active_accuracy is None:
        click.echo(
            f"Quality gate: bureau accuracy {gate.accuracy:.3f} on {gate.n} held-out texts (no version was active)."
        )
    else:
        verdict = "activated" if version.is_active else "kept INACTIVE: worse than the active version"
        click.echo(
            f"Quality gate: bureau accuracy {gate.accuracy:.3f} against the active version's "
            f"{gate.active_accuracy:.3f} on {gate.n} held-out texts: {verdict}."
        )


@classifier_cli.command("ensure")
def ensure():
    """Train and activate a first version if none is active (used by `make run`)."""
    problem = model_versions.active_version_problem()
    if problem is None:
        click.echo("A classifier version is active.")
        return
    click.echo(f"No usable classifier version ({problem}): training one...")
    # A model trained before on the same data (a database made anew) is read back from disk.
    version, _ = model_versions.train_version(activate="always", cached=True)
    _echo_version(version)


@classifier_cli.command("list")
def list_versions():
    for v in model_versions.versions():
        _echo_version(v)


@classifier_cli.command("activate")
@click.argument("version_id", type=int)
def activate(version_id):
    """Make a stored version the active one (to roll back, activate an older one)."""
    try:
        model_versions.activate(version_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Version {version_id} is active.")


def _echo_version(v: ClassifierVersion) -> None:
    gate = (v.metrics or {}).get("gate") or {}
    figures = f" gate bureau accuracy {gate['accuracy']:.3f} (n={gate['n']})" if gate else ""
    click.echo(f"{'*' if v.is_active else ' '} #{v.id} {v.label} sha256 {v.sha256[:12]}…{figures}")


@click.command("setup")
@base_url_option
@click.pass_context
def setup(ctx, base_url):
    """Everything `make run` needs, in one process: the database upgraded, the reference data
    loaded, the demo accounts, an active classifier version. Safe to re-run (a second run only
    checks); the same as `flask db upgrade`, `flask catalogue load`, `flask users demo` and
    `flask classifier ensure` one after another (and, once, `flask stats rebuild` for a database
    that has views the statistics never counted), but the app is imported once instead of four times."""
    upgrade()
    ctx.invoke(load_catalogue)
    ctx.invoke(create_demo_accounts, base_url=base_url)
    ctx.invoke(ensure)
    if counted := stats_rollups.ensure():
        click.echo(f"Statistics counted for the views already stored: {counted} months.")


i18n_cli = AppGroup("i18n", help="Interface languages.")


@i18n_cli.command("simplify")
def simplify():
    """Write the Simplified Chinese catalogue from the Traditional Chinese one."""
    click.echo(f"Wrote {write_simplified()}")


@bureau_cli.command("deadlines")
def fill_deadlines():
    """Give a due date to every view with a bureau that has none (from when it reached the bureau
    and the bureau's answer target; safe to re-run)."""
    filled = fill_missing_due_dates()
    click.echo(f"Due dates filled: {filled} view{'' if filled == 1 else 's'}.")


@stats_cli.command("rebuild")
def rebuild_stats():
    """Recount the statistics' rollups of every month from the views (safe to re-run; the
    worker keeps them up to date after that)."""
    months = stats_rollups.rebuild()
    click.echo(f"Statistics recounted: {months} month{'' if months == 1 else 's'}.")


def register(app: Flask) -> None:
    app.cli.add_command(i18n_cli)
    app.cli.add_command(catalogue_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(classifier_cli)
    app.cli.add_command(bureau_cli)
    app.cli.add_command(stats_cli)
    app.cli.add_command(setup)
