"""The worker process: `huey_consumer feedback_app.worker.huey` (make run starts one).

It builds the application once, from the same settings as the web processes (DATABASE_URL,
REDIS_URL, ...), and runs every task inside it. Its SECRET_KEY must be the web processes' own:
tasks are signed with it, and a task signed with another key is refused (tasks.py).
"""
from . import create_app
from .routing import tasks

app = create_app()
tasks.bind_worker_app(app)
huey = tasks.huey
