"""Fixtures for the gateway tests: a live app (for Kannel's callbacks), the Kannel rig, the
fake ZNS server, and a sender wired to them."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from safezone.app import create_app
from safezone.config import GatewaysConfig, KannelConfig, MessagingConfig, Settings, ZnsConfig
from safezone.db.engine import Database
from safezone.messaging.base import vault_for
from safezone.messaging.gateway_api import mo_secret
from safezone.messaging.sender import Sender, SenderPolicy, build_sender
from tests.conftest import TEST_SECRET
from tests.messaging.fake_zns import FakeZns, ZnsState
from tests.messaging.gateways import support
from tests.messaging.rig import (
    ADMIN_PASSWORD,
    SENDSMS_PASSWORD,
    SENDSMS_USER,
    KannelRig,
    free_port,
    kannel_available,
)

TEST_POLICY = SenderPolicy(
    batch_size=50,
    lease=dt.timedelta(seconds=5),
    backoff=dt.timedelta(seconds=1),
    ambiguous_grace=dt.timedelta(seconds=2),
)


@dataclass
class Live:
    """Everything an end-to-end test needs."""

    settings: Settings
    db: Database
    rig: KannelRig | None
    zns: FakeZns
    app_url: str

    def sender(self, **overrides: Any) -> Sender:
        """A sender on this installation with the test composer."""
        overrides.setdefault("policy", TEST_POLICY)
        return build_sender(self.settings, self.db, support.composer(self.settings), **overrides)

    def seed(self, **options: Any) -> support.Seeded:
        """Contacts and queued messages (see support.seed)."""
        return support.seed(self.db, vault_for(self.settings), **options)

    def wait(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        """Poll ``condition`` until true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise AssertionError("condition not reached in time")


def gateway_settings(
    data_dir: Path,
    database_url: str,
    *,
    app_port: int,
    sendsms_url: str = "http://127.0.0.1:9/cgi-bin/sendsms",
    admin_url: str = "",
    zns_url: str = "http://127.0.0.1:9",
    throughput: float = 500.0,
    legal_window: bool = False,
) -> Settings:
    """Settings pointing the gateways at the rig and the fake ZNS (also used by the sender
    subprocess of the kill -9 test, so plain values only).

    Without ``legal_window`` there are no quiet hours: these tests exercise the gateways with
    the wall clock and must pass at any hour (a CI run at 22:00 in Vietnam deferred every
    message). Tests of the window itself ask for it and drive the sender's clock."""
    window = {} if legal_window else {"window_start": dt.time(0), "window_end": dt.time(0)}
    kannel = KannelConfig(
        sendsms_url=sendsms_url,
        username=SENDSMS_USER,
        password=SENDSMS_PASSWORD,
        admin_url=admin_url,
        admin_password=ADMIN_PASSWORD,
        timeout_seconds=5,
        messages_per_second=throughput,
    )
    zns_config = ZnsConfig(
        api_url=f"{zns_url}/message/template",
        oauth_url=f"{zns_url}/v4/oa/access_token",
        app_id=ZnsState.app_id,
        app_secret=ZnsState.app_secret,
        refresh_token="refresh-0",
        messages_per_second=throughput,
    )
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=TEST_SECRET,
        log_json=True,
        messaging=MessagingConfig(
            **window,
            gateways=GatewaysConfig(
                callback_base_url=f"http://127.0.0.1:{app_port}",
                kannel=kannel,
                zns=zns_config,
                mo_secret="mo-shared-secret-for-tests",
            ),
        ),
    )


@pytest.fixture
def fake_zns() -> Iterator[FakeZns]:
    """The fake ZNS API."""
    server = FakeZns().start()
    yield server
    server.stop()


def _serve(settings: Settings, db: Database, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(
        create_app(settings, db), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("app did not start")
        time.sleep(0.02)
    return server, thread


@pytest.fixture
def live(
    tmp_path: Path, database_url: str, fake_zns: FakeZns, request: pytest.FixtureRequest
) -> Iterator[Live]:
    """App served on a free port + Kannel rig (MOs to our endpoint) + fake ZNS."""
    if not kannel_available():
        if os.environ.get("SAFEZONE_REQUIRE_KANNEL") == "1":
            pytest.fail("Kannel is required (SAFEZONE_REQUIRE_KANNEL=1) but not installed")
        pytest.skip("Debian packages kannel + kannel-extras are not installed")
    marker = request.node.get_closest_marker("throughput")
    throughput = marker.args[0] if marker else None
    app_port = free_port()
    draft = gateway_settings(tmp_path, database_url, app_port=app_port)
    mo_url = (
        f"http://127.0.0.1:{app_port}/api/v1/messaging/gateway/kannel/mo"
        f"?key={mo_secret(draft)}&from=%p&to=%P&text=%a&charset=%C&coding=%c"
    )
    rig = KannelRig(tmp_path / "kannel", mo_url=mo_url, throughput=throughput).start()
    settings = gateway_settings(
        tmp_path,
        database_url,
        app_port=app_port,
        sendsms_url=rig.sendsms_url,
        admin_url=rig.admin_url,
        zns_url=fake_zns.base_url,
    )
    db = Database(settings.sqlalchemy_url)
    server, thread = _serve(settings, db, app_port)
    try:
        yield Live(settings, db, rig, fake_zns, f"http://127.0.0.1:{app_port}")
    finally:
        rig.stop()
        server.should_exit = True
        thread.join(10)
        db.dispose()


@pytest.fixture
def offline(tmp_path: Path, database_url: str, fake_zns: FakeZns) -> Iterator[Live]:
    """No Kannel, no served app: the fake ZNS and a database (SMS goes to a closed port)."""
    settings = gateway_settings(
        tmp_path, database_url, app_port=9, zns_url=fake_zns.base_url, legal_window=True
    )
    db = Database(settings.sqlalchemy_url)
    yield Live(settings, db, None, fake_zns, "")
    db.dispose()
