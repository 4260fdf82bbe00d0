"""Concurrent writers: unique references, and read-then-write transactions that lose nothing."""

import threading

from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel.database import write_transaction
from feedback_app.kernel.models import ReferenceCounter, Submission

from . import factories

THREADS = 8
PER_THREAD = 4


def _run_in_threads(app, work):
    # End the test's own read transaction: its snapshot would hide what the threads write.
    db.session.rollback()
    errors = []
    barrier = threading.Barrier(THREADS)

    def worker():
        with app.app_context():
            try:
                barrier.wait()
                work()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_concurrent_submissions_get_unique_references(app):
    initiative = factories.initiative()
    area, initiative_id = initiative.area_code, initiative.id  # plain values: threads share no ORM objects

    def submit_several():
        for _ in range(PER_THREAD):
            intake.submit(
                intake.NewSubmission(
                    body=factories.TRANSPORT_VIEW, language="en", topic_area=area, initiative_id=initiative_id
                )
            )

    _run_in_threads(app, submit_several)
    refs = list(db.session.execute(select(Submission.reference)).scalars())
    assert len(refs) == THREADS * PER_THREAD
    assert len(set(refs)) == len(refs)
    numbers = sorted(int(r.rsplit("-", 1)[1]) for r in refs)
    assert numbers == list(range(1, THREADS * PER_THREAD + 1))


def test_read_then_write_transactions_do_not_lose_updates(app):
    with write_transaction():
        db.session.add(ReferenceCounter(year=1999, last_value=0))

    def increment_several():
        for _ in range(PER_THREAD):
            with write_transaction():
                # Read, then write what was read plus one: the classic lost update.
                row = db.session.execute(
                    select(ReferenceCounter).where(ReferenceCounter.year == 1999).with_for_update()
                ).scalar_one()
                row.last_value = row.last_value + 1

    _run_in_threads(app, increment_several)
    db.session.expire_all()
    assert (
        db.session.execute(select(ReferenceCounter.last_value).where(ReferenceCounter.year == 1999)).scalar_one()
        == THREADS * PER_THREAD
    )
    assert db.session.execute(select(func.count()).select_from(Submission)).scalar_one() == 0
