"""The worker process: `huey_consumer feedback_app.worker.huey` (make run starts one).

It builds the application once, from the same settings as the web processes (DATABASE_URL,
REDIS_URL, ...), and runs every task inside it. Its SECRET_KEY must be the web processes' own:
tasks are signed with it, and a task signed with another key is refused (kernel/task_queue.py).

Every module that defines tasks or subscribes to events is imported here, so the consumer knows
each task by name and the events' sweep knows every handler.
"""

from . import create_app
from .catalogue import digest as catalogue_digest
from .intake import recovery as intake_recovery
from .kernel import events, task_queue
from .mail import delivery as mail_delivery
from .routing import tasks as routing_tasks
from .stats import rollups as stats_rollups

TASK_MODULES = (
    task_queue,
    events,
    routing_tasks,
    mail_delivery,
    intake_recovery,
    catalogue_digest,
    stats_rollups,
)

app = create_app()
task_queue.bind_worker_app(app)
huey = task_queue.huey
