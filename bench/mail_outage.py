"""What an hour without a mail server does to residents' mail, on a simulated clock.

One receipt is written every minute for 60 minutes while the SMTP server is down; the worker's
sweep runs every simulated minute; the server comes back at minute 60. Printed: how many
messages arrived, how many twice, and how long after the server came back they arrived (the
retry delays decide: RETRY_DELAYS in feedback_app/mail/delivery.py).
"""

from __future__ import annotations

import logging
import statistics
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUTAGE_MINUTES = 60


def run() -> None:
    from flask_migrate import upgrade
    from sqlalchemy import select, update

    from config import TestConfig
    from feedback_app import create_app
    from feedback_app.extensions import db
    from feedback_app.intake import services as intake
    from feedback_app.kernel.catalogue import load_reference_data
    from feedback_app.kernel.models import Initiative, OutboxMessage
    from feedback_app.mail import delivery
    from tests.mail_server import MailServer

    logging.disable(logging.ERROR)
    server = MailServer()
    sent_at: dict[str, datetime] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
            config.update(
                SQLALCHEMY_DATABASE_URI=f"sqlite:///{Path(tmp) / 'outage.db'}",
                SMTP_HOST="127.0.0.1",
                SMTP_PORT=server.port,  # nothing listens there yet
                SMTP_TIMEOUT=2,
                MAIL_ADDRESS_HOURLY_LIMIT=10**6,
                ROUTING_BUREAU_THRESHOLD=1.01,
            )
            app = create_app(config)
            with app.app_context():
                upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
                load_reference_data()
                initiative = db.session.execute(select(Initiative)).scalars().first()
                start = datetime.now(UTC)
                for minute in range(OUTAGE_MINUTES * 3):
                    now = start + timedelta(minutes=minute)
                    if minute == OUTAGE_MINUTES:
                        server.start()
                    if minute < OUTAGE_MINUTES:
                        receipt = intake.submit(
                            intake.NewSubmission(
                                body=f"View {minute}: the buses on route 960 are full every morning.",
                                language="en",
                                topic_area=initiative.area_code,
                                initiative_id=initiative.id,
                                email=f"r{minute}@example.org",
                            )
                        )
                        # Its first try failed just now (real clock): put it on the simulated one.
                        db.session.execute(
                            update(OutboxMessage)
                            .where(OutboxMessage.submission_id == receipt.submission_id)
                            .values(created_at=now, next_attempt_at=now + delivery.RETRY_DELAYS[0])
                        )
                        db.session.commit()
                    before = len(server.messages)
                    delivery.send_due(now)
                    for message in server.messages[before:]:
                        sent_at.setdefault(str(message["Message-ID"]), now)
                ids = [str(m["Message-ID"]) for m in server.messages]
    finally:
        logging.disable(logging.NOTSET)
        server.stop()
    back = start + timedelta(minutes=OUTAGE_MINUTES)
    waits = sorted((moment - back).total_seconds() / 60 for moment in sent_at.values())
    print(
        f"{'mail: an hour without SMTP':<34} {len(set(ids))}/{OUTAGE_MINUTES} delivered, {len(ids) - len(set(ids))} "
        f"twice; after the server came back: median {statistics.median(waits):.0f} min, "
        f"90% within {waits[int(len(waits) * 0.9) - 1]:.0f} min, all within {waits[-1]:.0f} min (simulated clock)"
    )


if __name__ == "__main__":
    run()
