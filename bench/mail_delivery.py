"""The worker's delivery rate against a local SMTP sink, beside bare smtplib sending to the same sink.

A thousand receipts are written to the outbox (SQLite), then the worker's sweep sends them:
claiming each, rendering it (plain text and HTML in its language, from the public projection),
sending it over one SMTP connection and marking it sent. The baseline sends the same number of
ready-made messages with smtplib over one connection to the same sink (aiosmtpd, in this
process): what SMTP alone costs. The ratio is the outbox's cost per message over SMTP's.
"""

from __future__ import annotations

import logging
import smtplib
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

MESSAGES = 1000
ROUNDS = 3


def run() -> None:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from config import TestConfig
    from feedback_app import create_app
    from feedback_app.extensions import db
    from feedback_app.intake import services as intake
    from feedback_app.kernel.catalogue import load_reference_data
    from feedback_app.kernel.models import Initiative, OutboxMessage
    from feedback_app.mail import delivery, messages
    from tests.mail_server import MailServer

    sink = MailServer()
    sink.start()
    # Routing has no model here and the first tries find no server: both are logged, as they
    # should be, and neither is what is measured.
    logging.disable(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
            config.update(
                SQLALCHEMY_DATABASE_URI=f"sqlite:///{Path(tmp) / 'mail.db'}",
                SMTP_HOST=None,  # the views are written with no server: nothing is sent at once
                MAIL_ADDRESS_HOURLY_LIMIT=10**6,
                MAIL_ADDRESS_DAILY_LIMIT=10**6,
                ROUTING_BUREAU_THRESHOLD=1.01,
            )
            app = create_app(config)
            with app.app_context():
                upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
                load_reference_data()
                initiative = db.session.execute(select(Initiative)).scalars().first()
                worker_times, bare_times = [], []
                for round_ in range(ROUNDS):
                    app.config["SMTP_HOST"] = "127.0.0.1"
                    app.config["SMTP_PORT"] = 1  # refused: the receipts wait in the outbox
                    for n in range(MESSAGES):
                        intake.submit(
                            intake.NewSubmission(
                                body=f"View {round_}.{n}: the buses on route 960 are full every morning.",
                                language=("en", "zh_Hant", "zh_Hans")[n % 3],
                                topic_area=initiative.area_code,
                                initiative_id=initiative.id,
                                email=f"resident{round_}.{n}@example.org",
                            )
                        )
                    app.config["SMTP_PORT"] = sink.port
                    sample = db.session.execute(select(OutboxMessage).limit(1)).scalar_one()
                    ready = delivery.email_for(sample, messages.render(sample))
                    db.session.rollback()
                    start = time.perf_counter()
                    with smtplib.SMTP("127.0.0.1", sink.port) as connection:
                        for _ in range(MESSAGES):
                            connection.send_message(ready)
                    bare_times.append(time.perf_counter() - start)
                    later = datetime.now(UTC) + timedelta(hours=1)
                    start = time.perf_counter()
                    sent = 0
                    while True:
                        batch = delivery.send_due(later)
                        sent += batch
                        if not batch:
                            break
                    worker_times.append(time.perf_counter() - start)
                    if sent != MESSAGES:
                        raise RuntimeError(f"sent {sent} of {MESSAGES}")
    finally:
        logging.disable(logging.NOTSET)
        sink.stop()
    worker, bare = statistics.median(worker_times), statistics.median(bare_times)
    print(
        f"{'mail delivery: worker/smtplib':<34} {worker / bare:6.3f}x   (per message, median of {ROUNDS} rounds of "
        f"{MESSAGES}: {MESSAGES / worker:.0f} vs {MESSAGES / bare:.0f} messages/s; claim, render in three "
        f"languages, send over one connection, mark; local aiosmtpd sink)"
    )


if __name__ == "__main__":
    run()
