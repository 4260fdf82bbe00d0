"""The demo accounts: one per role, for trying the site locally.

Their passwords are published (README), so every place that lets one in must agree on who
they are and whether they are allowed: `flask users demo` (creates them), sign-in, account
creation and reactivation (refuse them where they are not allowed) and the production start-up
check (refuses to serve while one is active). All of them read this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from ..kernel.models import Role


class DemoAccount(NamedTuple):
    email: str
    password: str
    role: Role
    bureau: str | None
    display_name: str


DEMO_ACCOUNTS = (
    DemoAccount("resident@demo.scf.hk", "resident-demo-2026", Role.RESIDENT, None, "Demo Resident"),
    DemoAccount("moderator@demo.scf.hk", "moderator-demo-2026", Role.MODERATOR, None, "Demo Moderator"),
    DemoAccount("officer.tlb@demo.scf.hk", "officer-demo-2026", Role.OFFICER, "TLB", "Demo Officer, TLB"),
    DemoAccount("admin@demo.scf.hk", "admin-demo-2026", Role.ADMIN, None, "Demo Admin"),
)

# Stored e-mails are lower case (auth.services.normalise_email), so compare in lower case.
DEMO_EMAILS = frozenset(account.email for account in DEMO_ACCOUNTS)


def is_demo_email(email: str | None) -> bool:
    return bool(email) and email.strip().lower() in DEMO_EMAILS


def allowed(config: Mapping) -> bool:
    """Whether demo accounts may be created, reactivated and signed in to here.

    Never in production mode (the SECRET_KEY came from the environment, create_app records it),
    whatever ALLOW_DEMO_ACCOUNTS says: a forgotten setting must not reopen a public password.
    Asked at every sign-in, not only at start-up, since an account can be reactivated later.
    """
    return bool(config.get("ALLOW_DEMO_ACCOUNTS")) and not config.get("SECRET_KEY_FROM_ENVIRONMENT")
