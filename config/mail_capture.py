"""A local SMTP server that captures mail instead of delivering it: `make run` sends the desk's email here.

    python -m config.mail_capture --port 1025 --dir var/mail

Every message it receives is written to DIR as one .eml file (named by the time it arrived), exactly
as the client sent it; nothing is relayed anywhere. Admins read them on the dashboard's Outbox page
(HELPDESK_MAIL_CAPTURE_DIR=DIR), or open the files in any mail program.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

MAX_MESSAGE_BYTES = 25 * 1024 * 1024


class CaptureHandler:
    """aiosmtpd handler: accept every message and write it to a folder, atomically."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        name = f"{stamp}-{time.time_ns() % 1_000_000_000:09d}-{uuid.uuid4().hex[:6]}.eml"
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        partial = self.directory / f".{name}.part"
        partial.write_bytes(content)
        os.replace(partial, self.directory / name)  # the Outbox never sees half a message
        return "250 Message captured"


def start(*, host: str, port: int, directory: Path):
    """Start a capture server in a background thread; return its aiosmtpd Controller (call .stop())."""
    from aiosmtpd.controller import Controller

    controller = Controller(CaptureHandler(directory), hostname=host, port=port, data_size_limit=MAX_MESSAGE_BYTES)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.mail_capture", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, required=True, help="folder for the captured .eml files")
    args = parser.parse_args(argv)
    controller = start(host=args.host, port=args.port, directory=args.dir)
    print(f"capturing mail on {args.host}:{args.port} into {args.dir}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
