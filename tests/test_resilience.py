"""Nothing stored is lost or half-written when the broker is away or a worker dies mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest
from django.db.models import Q

from helpdesk.encoders import encoder_name
from helpdesk.models import Article, Chunk
from helpdesk.services.knowledge import save_article
from helpdesk.tasks import _waiting, sweep_unembedded
from tests.conftest import ROOT, WorkerProcess, service_env, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _half_written():
    """Chunks with a vector but no encoder, or the reverse."""
    return Chunk.objects.filter((Q(embedding__isnull=True) & ~Q(encoder="")) | Q(embedding__isnull=False, encoder=""))


def test_saving_while_the_broker_is_down_keeps_the_article_and_the_sweep_embeds_it_later(tmp_path):
    script = (
        "from helpdesk.services.knowledge import save_article; "
        "a = save_article(title='Broker outage', body='Saved while Redis was away.', locale='en', status='published'); "
        "print(a.pk)"
    )
    # A broker nobody listens on: the save must still succeed.
    env = service_env(REDIS_URL="redis://127.0.0.1:1/0")
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "broker unreachable" in result.stderr
    article = Article.objects.get(pk=int(result.stdout.strip().splitlines()[-1]))
    assert Chunk.objects.filter(article=article, encoder="").count() == 1

    worker = WorkerProcess(tmp_path / "worker.log", service_env()).start()
    try:
        sweep_unembedded.delay(min_age_seconds=0)
        wait_until(lambda: not Chunk.objects.filter(article=article).exclude(encoder=encoder_name()).exists(),
                   timeout=120, message=f"the sweep\n{worker.tail()}")
    finally:
        worker.stop()


def test_a_worker_killed_mid_batch_leaves_no_half_written_vector_and_the_rest_is_embedded(tmp_path):
    from config.celery import app

    app.control.purge()
    body = "\n\n".join(f"Step {i}: open the settings page, choose security, and confirm." for i in range(30))
    articles = [save_article(title=f"Security guide {n}", body=body, locale="en", status=Article.Status.PUBLISHED)
                for n in range(12)]
    total = Chunk.objects.filter(article__in=articles).count()

    worker = WorkerProcess(tmp_path / "worker1.log", service_env()).start()
    wait_until(lambda: Chunk.objects.filter(article__in=articles, encoder=encoder_name()).exists(),
               timeout=120, interval=0.05, message=f"first vectors\n{worker.tail()}")
    parent = psutil.Process(worker.proc.pid)
    for proc in [*parent.children(recursive=True), parent]:
        os.kill(proc.pid, signal.SIGKILL)
    worker.proc.wait(10)

    done_at_kill = Chunk.objects.filter(article__in=articles, encoder=encoder_name()).count()
    assert 0 < done_at_kill
    assert not _half_written().exists()

    second = WorkerProcess(tmp_path / "worker2.log", service_env()).start()
    try:
        # The killed worker's batch stays unacknowledged in Redis; once the queued work is done,
        # the periodic sweep (sent here rather than waiting for beat) queues what is still missing.
        wait_until(lambda: _waiting("embeddings") == 0, timeout=180, message="the queue to drain")
        sweep_unembedded.delay(min_age_seconds=0)
        wait_until(lambda: Chunk.objects.filter(article__in=articles, encoder=encoder_name()).count() == total,
                   timeout=180, message=f"re-embedding after the kill\n{second.tail()}")
    finally:
        second.stop()
    assert not _half_written().exists()


def test_a_killed_pool_process_is_replaced_and_the_work_finishes_without_anyone(tmp_path):
    """The replacement loads the model after reporting UP, so Celery's stock 4 s start-up limit
    (which loading torch and a model exceeds on a busy machine) no longer kills it in turn."""
    from config.celery import app

    app.control.purge()
    body = "\n\n".join(f"Step {i}: open the billing page, choose invoices, and download the month." for i in range(30))
    articles = [save_article(title=f"Billing guide {n}", body=body, locale="en", status=Article.Status.PUBLISHED)
                for n in range(12)]
    total = Chunk.objects.filter(article__in=articles).count()
    env = service_env(HELPDESK_WARM_ENCODER="1", CELERY_WORKER_PROC_ALIVE_TIMEOUT="4")
    worker = WorkerProcess(tmp_path / "worker.log", env).start()
    try:
        wait_until(lambda: Chunk.objects.filter(article__in=articles, encoder=encoder_name()).exists(),
                   timeout=180, interval=0.05, message=f"first vectors\n{worker.tail()}")
        main = psutil.Process(worker.proc.pid)
        killed = []
        for _ in range(2):  # the first child mid-batch, then its replacement while it loads the model
            child = wait_until(lambda: main.children(), timeout=60, message=f"a pool process\n{worker.tail()}")[0]
            os.kill(child.pid, signal.SIGKILL)
            killed.append(child.pid)
            wait_until(lambda: [c for c in main.children() if c.pid not in killed], timeout=60,
                       message=f"a replacement pool process\n{worker.tail()}")

        # No sweep, no restart: the killed task is handed back to the broker and the queue drains.
        wait_until(lambda: Chunk.objects.filter(article__in=articles, encoder=encoder_name()).count() == total,
                   timeout=300, message=f"every passage embedded after the kills\n{worker.tail()}")
        assert worker.proc.poll() is None
        assert len(main.children()) == 1
    finally:
        worker.stop()
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert "Timed out waiting for UP message" not in log
    assert not _half_written().exists()
