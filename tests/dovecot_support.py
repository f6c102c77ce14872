"""A real IMAP server for tests: Debian's Dovecot, unprivileged, on a free port, with a throwaway Maildir.

No system configuration is read or written: one config file, a passwd-file user and the Maildir
live in a temporary directory. As root (CI), Dovecot runs as `nobody` through setpriv.
"""

from __future__ import annotations

import getpass
import grp
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "desk", "p@ss w0rd"  # a space and an @: the IMAP URL must percent-encode them


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Dovecot:
    def __init__(self):
        if not os.path.exists(DOVECOT):
            pytest.fail("Dovecot is not installed: `apt-get install dovecot-imapd` (.ci/run does this)")
        self.dir = Path(tempfile.mkdtemp(prefix="polyglot-dovecot-"))
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        if os.geteuid() == 0:
            self.user, self.group = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        else:
            self.user, self.group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name

    @property
    def cafile(self) -> str:
        return str(self.dir / "cert.pem")

    def url(self, *, folder="INBOX", **query) -> str:
        from urllib.parse import quote, urlencode

        params = {"cafile": self.cafile, **query}
        return (f"imap://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@localhost:{self.port}/{folder}"
                f"?{urlencode(params)}")

    def start(self) -> "Dovecot":
        d = self.dir
        for sub in ("run", "state", "home"):
            (d / sub).mkdir()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                       check=True, capture_output=True)
        (d / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        (d / "dovecot.conf").write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
instance_name = polyglot-test-{self.port}
log_path = {d}/dovecot.log
ssl = required
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
auth_mechanisms = plain
default_internal_user = {self.user}
default_internal_group = {self.group}
default_login_user = {self.user}
first_valid_uid = 1
mail_location = maildir:{d}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/passwd
}}
userdb {{
  driver = static
  args = uid={self.user} gid={self.group} home={d}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")
        command = [DOVECOT, "-F", "-c", str(d / "dovecot.conf")]
        if os.geteuid() == 0:
            shutil.chown(d, self.user, self.group)
            for path in d.rglob("*"):
                shutil.chown(path, self.user, self.group)
            command = ["setpriv", f"--reuid={self.user}", f"--regid={self.group}", "--clear-groups", *command]
        d.chmod(0o755)
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dovecot did not start:\n{self.log()}")
                time.sleep(0.1)

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("localhost", self.port, timeout=10)
        client.starttls(ssl_context=ssl.create_default_context(cafile=self.cafile))
        client.login(USER, PASSWORD)
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message in the mailbox as new (unseen), as an MTA's delivery would."""
        client = self.client()
        try:
            status, data = client.append(folder, None, None, raw)
            assert status == "OK", data
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        client = self.client()
        try:
            client.select(folder)
            _, data = client.fetch("1:*", "(FLAGS)")
            return [item for item in data if item]
        finally:
            client.logout()

    def count(self, folder: str) -> int:
        client = self.client()
        try:
            status, data = client.select(f'"{folder}"')
            return int(data[0]) if status == "OK" else 0
        finally:
            client.logout()

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)
