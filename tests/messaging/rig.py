"""A real Kannel (bearerbox + smsbox from Debian's ``kannel`` package) on free loopback ports,
with a fake SMSC of our own on the other side that counts every message it receives.

Topology: bearerbox's ``smsc = fake`` group *listens*; :class:`FakeSmsc` is the TCP client that
connects to it (the role of Kannel's ``fakesmsc``), so it sees every MT as one line
``<from> <to> <type> <payload>`` and can inject MOs by writing such a line. Kannel's own fake
driver reports success for every MT it hands over, so each message yields DLR 8 (SMSC accepted)
and DLR 1 (delivered), in either order.

Start order matters: bearerbox, wait for its box port, the fake SMSC, smsbox (which panics when
no bearerbox listens), then poll ``status.txt``. Teardown is the admin ``/shutdown`` (the body
must say "Bringing system down"; a wrong password answers 200 "Denied"), then wait for the PIDs:
SIGKILL of bearerbox first would make smsbox respawn under a new PID.

This module is test support: it never runs in production code.
"""

from __future__ import annotations

import collections
import contextlib
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
ADMIN_PASSWORD = "rig-admin-pw"
SENDSMS_USER = "safezone"
SENDSMS_PASSWORD = "rig-sendsms-pw"
SENDER = "8088"


def kannel_available() -> bool:
    """True when Debian's kannel binaries are installed."""
    return Path(BEARERBOX).exists() and Path(SMSBOX).exists()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def decode_payload(kind: str, payload: str) -> str:
    """The text of one fake-SMSC line: ``text`` is raw, ``ucs-2`` is URL-encoded UTF-16BE."""
    if kind == "ucs-2":
        return urllib.parse.unquote_to_bytes(payload.replace("+", " ")).decode("utf-16-be")
    if kind == "data":
        return urllib.parse.unquote_to_bytes(payload.replace("+", " ")).decode("latin-1")
    return payload


@dataclass(frozen=True, slots=True)
class Received:
    """One MT as the fake SMSC saw it."""

    sender: str
    to: str
    kind: str  # text | ucs-2 | data | udh-*
    text: str
    at: float


@dataclass
class FakeSmsc:
    """The SMSC side: connects to bearerbox's fake-SMSC port, records MTs, injects MOs.

    Reconnects by itself while ``running`` (bearerbox accepts one client at a time).
    """

    port: int
    received: list[Received] = field(default_factory=list)
    running: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _socket: socket.socket | None = None
    _thread: threading.Thread | None = None
    _connected: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        """Run the reader thread."""
        self._thread = threading.Thread(target=self._run, name="fake-smsc", daemon=True)
        self._thread.start()

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until connected to bearerbox."""
        if not self._connected.wait(timeout):
            raise TimeoutError("fake SMSC could not connect to bearerbox")

    def _run(self) -> None:
        while self.running:
            try:
                connection = socket.create_connection(("127.0.0.1", self.port), timeout=1.0)
            except OSError:
                time.sleep(0.05)
                continue
            self._socket = connection
            self._connected.set()
            buffer = b""
            with connection:
                while self.running:
                    try:
                        chunk = connection.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not chunk:
                        break
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        self._record(line.decode("utf-8", "replace").rstrip("\r"))
            self._connected.clear()
            self._socket = None

    def _record(self, line: str) -> None:
        parts = line.split(" ", 3)
        if len(parts) < 3:
            return
        sender, to, kind = parts[0], parts[1], parts[2]
        payload = parts[3] if len(parts) > 3 else ""
        item = Received(sender, to, kind, decode_payload(kind, payload), time.monotonic())
        with self._lock:
            self.received.append(item)

    def inject_mo(self, sender: str, text: str, to: str = SENDER) -> None:
        """Send an MO (``sender`` wrote ``text`` to our short code) as UCS-2, lossless."""
        self.wait_connected()
        payload = urllib.parse.quote_from_bytes(text.encode("utf-16-be"))
        assert self._socket is not None
        self._socket.sendall(f"{sender} {to} ucs2 {payload}\n".encode("ascii"))

    def snapshot(self) -> list[Received]:
        """What was received so far."""
        with self._lock:
            return list(self.received)

    def counts(self) -> collections.Counter[tuple[str, str]]:
        """How many times each (to, text) arrived: exactly-once means every count is 1."""
        return collections.Counter((item.to, item.text) for item in self.snapshot())

    def stop(self) -> None:
        """Stop reconnecting and close the link."""
        self.running = False
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5)


@dataclass
class KannelRig:
    """bearerbox + smsbox + :class:`FakeSmsc` in ``workdir``, all on free loopback ports.

    ``mo_url`` is the sms-service get-url (Kannel escapes: %p from, %P to, %a text, %C charset,
    %c coding); ``throughput`` the fake SMSC's messages per second (None: unlimited).
    """

    workdir: Path
    mo_url: str | None = None
    throughput: float | None = None
    admin_port: int = field(default_factory=free_port)
    box_port: int = field(default_factory=free_port)
    smsc_port: int = field(default_factory=free_port)
    sendsms_port: int = field(default_factory=free_port)
    smsc: FakeSmsc | None = None
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def sendsms_url(self) -> str:
        """smsbox's sendsms endpoint."""
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    @property
    def admin_url(self) -> str:
        """bearerbox's admin HTTP base."""
        return f"http://127.0.0.1:{self.admin_port}"

    def config(self) -> str:
        """kannel.conf (groups separated by blank lines: Kannel merges them otherwise)."""
        run = self.workdir
        throughput = f"throughput = {self.throughput}\n" if self.throughput else ""
        groups = [
            f"""group = core
admin-port = {self.admin_port}
admin-interface = 127.0.0.1
admin-password = {ADMIN_PASSWORD}
status-password = {ADMIN_PASSWORD}
admin-allow-ip = "127.0.0.1"
smsbox-port = {self.box_port}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{run}/bearerbox.log"
log-level = 1
access-log = "{run}/access.log"
dlr-storage = internal
sms-resend-freq = 2
""",
            f"""group = smsc
smsc = fake
smsc-id = fake1
port = {self.smsc_port}
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1
denied-smsc-id = fail
{throughput}""",
            f"""group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.box_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
global-sender = {SENDER}
mo-recode = true
log-file = "{run}/smsbox.log"
log-level = 1
""",
            f"""group = sendsms-user
username = {SENDSMS_USER}
password = {SENDSMS_PASSWORD}
max-messages = 3
concatenation = true
""",
        ]
        if self.mo_url:
            groups.append(
                f"""group = sms-service
keyword = default
get-url = "{self.mo_url}"
max-messages = 0
"""
            )
        return "\n".join(groups)

    def _spawn(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        out = (self.workdir / f"{name}.out").open("wb")
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir)
        out.close()
        self._processes.append(process)
        return process

    def _wait_port(self, port: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                return
            time.sleep(0.02)
        raise TimeoutError(f"port {port} never opened")

    def status(self) -> str:
        """bearerbox's status.txt."""
        query = urllib.parse.urlencode({"password": ADMIN_PASSWORD})
        with urllib.request.urlopen(f"{self.admin_url}/status.txt?{query}", timeout=5) as reply:
            return str(reply.read().decode())

    def start(self) -> KannelRig:
        """Start everything and wait until the SMSC is online and smsbox linked."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "kannel.conf"
        config.write_text(self.config())
        self._spawn(BEARERBOX, "-v", "1", str(config), name="bearerbox")
        self._wait_port(self.box_port)
        self.smsc = FakeSmsc(self.smsc_port)
        self.smsc.start()
        self._spawn(SMSBOX, "-v", "1", str(config), name="smsbox")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, urllib.error.URLError):
                text = self.status()
                if "(online" in text and "on-line" in text:
                    return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError("Kannel did not come online")

    def admin(self, command: str, **params: str) -> str:
        """Run an admin command (``suspend``, ``resume``, ``stop-smsc``...), return the body."""
        query = urllib.parse.urlencode({"password": ADMIN_PASSWORD, **params})
        with urllib.request.urlopen(f"{self.admin_url}/{command}?{query}", timeout=5) as reply:
            return str(reply.read().decode())

    def stop(self) -> None:
        """Admin shutdown (checking the body), then wait for each process; kill stragglers."""
        with contextlib.suppress(OSError, urllib.error.URLError):
            body = self.admin("shutdown")
            if "Bringing system down" not in body:
                raise RuntimeError(f"Kannel refused the shutdown: {body!r}")
        # smsbox first: killing bearerbox first makes smsbox respawn under a new PID.
        for process in reversed(self._processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self.smsc is not None:
            self.smsc.stop()

    def remove(self) -> None:
        """Delete the work directory."""
        shutil.rmtree(self.workdir, ignore_errors=True)
