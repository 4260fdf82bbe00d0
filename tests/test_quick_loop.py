"""What keeps the loops short: the trained model kept on disk, one setup command, no stemmer at
start-up, catalogues compiled when pytest is run directly, markup-only tests on one database."""

from __future__ import annotations

import os
import subprocess  # nosec B404 - the tests start Python and pytest with fixed arguments
import sys
import threading
import time
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from sqlalchemy import select, update

import classifier
from classifier import cache as model_cache
from feedback_app.auth.demo_accounts import DEMO_ACCOUNTS
from feedback_app.extensions import db
from feedback_app.kernel.models import ClassifierVersion, User
from feedback_app.routing import versions as model_versions

from . import conftest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [
    classifier.Example(text="The bus stop has no shelter", area="mobility", bureau="TLB"),
    classifier.Example(text="Clinic queues are too long", area="living", bureau="HHB"),
]


def _trainer(artifact: bytes, calls: list[int], seconds: float = 0.0):
    def train() -> bytes:
        calls.append(1)
        time.sleep(seconds)
        return artifact

    return train


# --- the model cache -------------------------------------------------------------------------


def test_a_model_trained_once_is_read_from_disk_the_next_time(tmp_path, model_artifact):
    calls: list[int] = []
    first, cached = model_cache.cached_artifact(
        EXAMPLES, ["off topic"], _trainer(model_artifact, calls), folder=tmp_path
    )
    assert (first, cached, len(calls)) == (model_artifact, False, 1)
    again, cached = model_cache.cached_artifact(
        EXAMPLES, ["off topic"], _trainer(model_artifact, calls), folder=tmp_path
    )
    assert (again, cached, len(calls)) == (model_artifact, True, 1)
    assert not list(tmp_path.glob("*.tmp")), "a temporary file was left behind"


def test_other_training_data_or_settings_train_anew(tmp_path, model_artifact):
    calls: list[int] = []
    train = _trainer(model_artifact, calls)
    model_cache.cached_artifact(EXAMPLES, [], train, folder=tmp_path)
    model_cache.cached_artifact(EXAMPLES[:1], [], train, folder=tmp_path)
    model_cache.cached_artifact(EXAMPLES, ["a new off-topic text"], train, folder=tmp_path)
    model_cache.cached_artifact(EXAMPLES, [], train, folder=tmp_path, settings={"c": 2})
    assert len(calls) == 4
    # Files are named by the training data's hash first, the hash the model records.
    names = {p.name[:32] for p in tmp_path.glob("*.npz")}
    assert names == {
        classifier.data_hash(e, o)[:32]
        for e, o in ((EXAMPLES, []), (EXAMPLES[:1], []), (EXAMPLES, ["a new off-topic text"]))
    }


def test_a_damaged_cached_model_is_trained_again(tmp_path, model_artifact):
    calls: list[int] = []
    model_cache.cached_artifact(EXAMPLES, [], _trainer(model_artifact, calls), folder=tmp_path)
    [path] = tmp_path.glob("*.npz")
    path.write_bytes(b"not a model")
    artifact, cached = model_cache.cached_artifact(EXAMPLES, [], _trainer(model_artifact, calls), folder=tmp_path)
    assert (artifact, cached, len(calls)) == (model_artifact, False, 2)


def test_processes_asking_at_once_train_once_and_the_others_wait(tmp_path, model_artifact):
    """As pytest-xdist workers do: the lock lets one train, the others then read its file."""
    calls: list[int] = []
    results: list[tuple[bytes, bool]] = []
    train = _trainer(model_artifact, calls, seconds=0.5)
    threads = [
        threading.Thread(
            target=lambda: results.append(model_cache.cached_artifact(EXAMPLES, [], train, folder=tmp_path))
        )
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert sorted(cached for _, cached in results) == [False, True, True]
    assert all(artifact == model_artifact for artifact, _ in results)


# --- one setup command, no stemmer at start-up ------------------------------------------------


def test_setup_runs_every_step_make_run_needs_in_one_command_and_again_only_checks(app, runner):
    app.config["ALLOW_DEMO_ACCOUNTS"] = True
    first = runner.invoke(args=["setup"])
    assert first.exit_code == 0, first.output
    assert "Reference data:" in first.output and "Demo accounts" in first.output
    assert "A classifier version is active." in first.output
    emails = set(db.session.execute(select(User.email)).scalars())
    assert {demo.email for demo in DEMO_ACCOUNTS} <= emails
    again = runner.invoke(args=["setup"])
    assert again.exit_code == 0, again.output
    assert len(db.session.execute(select(User)).scalars().all()) == len(emails)


def test_ensure_on_a_database_made_anew_reads_the_model_trained_before(
    app, runner, model_artifact, monkeypatch, tmp_path
):
    monkeypatch.setenv("CLASSIFIER_CACHE_DIR", str(tmp_path))
    trained: list[int] = []

    def train_model(examples, offtopic, target_precision):
        trained.append(len(examples))
        return classifier.from_bytes(model_artifact, sha256=classifier.sha256_hex(model_artifact))

    monkeypatch.setattr(model_versions, "train_model", train_model)
    for _ in range(2):  # as if the database were made anew: no version is active
        db.session.execute(update(ClassifierVersion).values(is_active=False))
        db.session.commit()
        result = runner.invoke(args=["classifier", "ensure"])
        assert result.exit_code == 0, result.output
        assert model_versions.active_version() is not None
    assert len(trained) == 1


def test_the_app_and_its_commands_load_without_the_stemmer_which_still_stems():
    code = (
        "import sys, feedback_app, feedback_app.commands, feedback_app.worker, classifier.text as t\n"
        "loaded = sorted(m for m in ('nltk', 'scipy.stats') if m in sys.modules)\n"
        "terms = t.english_terms('buses running')\n"
        "print(loaded, terms, 'nltk' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,  # nosec B603
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] ['buse', 'run', 'buse run'] True"


# --- pytest run directly ----------------------------------------------------------------------


def test_a_missing_or_stale_catalogue_is_compiled_when_pytest_starts(tmp_path, monkeypatch):
    for lang in ("zh_Hant", "zh_Hans"):
        folder = tmp_path / lang / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "messages.po").write_bytes(
            (conftest.TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").read_bytes()
        )
    stale = tmp_path / "zh_Hans" / "LC_MESSAGES" / "messages.mo"
    stale.write_bytes(b"")
    os.utime(stale, (0, 0))
    monkeypatch.setattr(conftest, "TRANSLATIONS", tmp_path)
    conftest._compile_catalogues()
    for lang, phrase in (("zh_Hant", "政策局"), ("zh_Hans", "政策局")):
        with open(tmp_path / lang / "LC_MESSAGES" / "messages.mo", "rb") as mo:
            catalog = read_mo(mo)
        assert catalog.get("Bureaus").string == phrase


@pytest.mark.slow  # collects the suite in a child pytest
def test_markup_only_tests_run_on_sqlite_alone_and_the_fuzz_test_is_slow():
    def collected(*args: str) -> list[str]:
        result = subprocess.run(  # nosec B603 - this interpreter's pytest, fixed arguments
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTEST_ADDOPTS": ""},
        )
        return [line for line in result.stdout.splitlines() if "::" in line]

    markup = ["tests/test_i18n.py", "tests/test_security_headers.py", "tests/test_accessible_forms.py"]
    assert collected(*markup, "-m", "postgresql") == []
    assert collected(*markup, "-m", "not postgresql")
    assert collected("tests/test_forms.py", "-m", "postgresql")  # stored data: both databases
    assert collected("tests/test_fuzz.py", "-m", "not slow") == []
