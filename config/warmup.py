"""Load the query encoder in a web process's background, and say how far it got (for /healthz).

A web process must answer at once (health checks, the dashboard) while the model loads, which can
take 20 s on a busy machine; the first suggestion request then simply waits for the load.
"""

from __future__ import annotations

import logging
import os
import threading

logger = logging.getLogger("helpdesk.web")
_state = "off"  # off | loading | ready | failed


def start() -> None:
    """Begin loading the encoder in a daemon thread when HELPDESK_WARM_ENCODER=1 (once per process)."""
    global _state
    if os.environ.get("HELPDESK_WARM_ENCODER") != "1" or _state != "off":
        return
    _state = "loading"
    threading.Thread(target=_load, name="warm-encoder", daemon=True).start()


def state() -> str:
    return _state


def _load() -> None:
    global _state
    from helpdesk.encoders import get_encoder

    try:
        get_encoder()
        _state = "ready"
    except Exception:  # the first request loads it again and reports the error where it belongs
        logger.exception("loading the encoder in the background failed")
        _state = "failed"
