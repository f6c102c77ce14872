"""Celery application: `celery -A config worker -Q default,embeddings` and, separately, `celery -A config beat`."""

import logging
import os
import threading

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("polyglot_desk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("helpdesk.worker")


@worker_process_init.connect
def warm_encoder(**kwargs):
    """Start loading the model in each pool process, after the fork (never in the parent: CUDA does
    not survive a fork), in a background thread.

    The hook must return quickly: the parent kills a child that has not reported UP within
    `worker_proc_alive_timeout`, and loading torch and a model can take 20 s on a busy machine, so a
    replacement for a killed child used to be killed in turn, forever. The first task simply waits
    for the load (the encoder cache is locked).
    """
    if os.environ.get("HELPDESK_WARM_ENCODER") == "1":
        threading.Thread(target=_load_encoder, name="warm-encoder", daemon=True).start()


def _load_encoder() -> None:
    from helpdesk.encoders import get_encoder

    try:
        get_encoder()
    except Exception:  # the first task will load it again and report the error where it belongs
        logger.exception("loading the encoder in the background failed")
