"""The demo accounts: one per role, for trying the site locally.

Their passwords are published (README), so three places must agree on who they are:
`flask users demo` (creates them only while ALLOW_DEMO_ACCOUNTS is on), sign-in (refuses
them when it is off) and the production start-up check (refuses to serve while one is
active). All three read this module.
"""
from __future__ import annotations

from typing import NamedTuple

from .models import Role


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
