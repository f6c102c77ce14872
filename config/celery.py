"""Celery application: `celery -A config worker -Q default,embeddings`."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("polyglot_desk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def warm_encoder(**kwargs):
    """Load the model in each pool process, after the fork (never in the parent: CUDA does not survive fork)."""
    if os.environ.get("HELPDESK_WARM_ENCODER") == "1":
        from helpdesk.encoders import get_encoder

        get_encoder()
