"""A sender process for the kill -9 test: ``python -m tests.messaging.gateways.sender_proc
<json>`` with the settings' plain values; it runs the production Sender (test composer) until
killed."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
import time
from pathlib import Path

from safezone.db.engine import Database
from safezone.messaging.sender import SenderPolicy, build_sender
from tests.messaging.gateways import support
from tests.messaging.gateways.conftest import gateway_settings


def main() -> None:
    """Run one sender until killed."""
    options = json.loads(sys.argv[1])
    settings = gateway_settings(
        Path(options["data_dir"]),
        options["database_url"],
        app_port=options["app_port"],
        sendsms_url=options["sendsms_url"],
        admin_url=options["admin_url"],
        throughput=options["throughput"],
    )
    db = Database(settings.sqlalchemy_url)
    policy = SenderPolicy(
        batch_size=options["batch_size"],
        lease=dt.timedelta(seconds=options["lease_seconds"]),
        backoff=dt.timedelta(seconds=1),
        ambiguous_grace=dt.timedelta(seconds=options["grace_seconds"]),
        concurrency=options.get("concurrency", 4),
    )
    sender = build_sender(settings, db, support.composer(settings), policy=policy)
    print("ready", flush=True)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    sender.run(threading.Event(), idle_seconds=0.2)


def _exit_with_parent(parent: int) -> None:
    """A test run that dies must not leave this sender running on the machine."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


if __name__ == "__main__":
    main()
