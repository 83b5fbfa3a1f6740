"""A local stand-in for DHIS2's ``POST /api/dataValueSets`` (DHIS2 cannot run here).

It checks the documented request shape (Basic auth, JSON, ``dataValues`` items with
``dataElement``, ``period``, ``orgUnit``, ``value`` as strings, 11-character ids) and answers
with the documented import summary envelope (2.36+: ``{"httpStatus", "status", "response":
{"responseType": "ImportSummary", "status", "importCount", "conflicts"}}``). ``plan`` lists
what to answer per request: ``"ok"``, ``"conflict"`` (409 with one conflict and one ignored
value) or an HTTP status to fail with (e.g. 503).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

UID = re.compile(r"^[A-Za-z][A-Za-z0-9]{10}$")
USER, PASSWORD = "safezone", "district-pass"


class FakeDhis2:
    """Received bodies, shape errors found, and the answers to give."""

    def __init__(self, plan: list[str | int]) -> None:
        self.plan = list(plan)
        self.received: list[dict[str, Any]] = []
        self.shape_errors: list[str] = []
        self.url = ""

    def check(self, headers: Any, body: dict[str, Any]) -> None:
        expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if headers.get("Authorization") != f"Basic {expected}":
            self.shape_errors.append("auth")
        if not headers.get("Content-Type", "").startswith("application/json"):
            self.shape_errors.append("content-type")
        values = body.get("dataValues")
        if not isinstance(values, list) or not values:
            self.shape_errors.append("dataValues")
            return
        for item in values:
            for key in ("dataElement", "period", "orgUnit", "value"):
                if key not in item:
                    self.shape_errors.append(f"missing {key}")
            for key in ("dataElement", "orgUnit", "categoryOptionCombo"):
                if key in item and not UID.match(item[key]):
                    self.shape_errors.append(f"bad uid {key}")
            if not isinstance(item.get("value"), str):
                self.shape_errors.append("value not a string")

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        step = self.plan.pop(0) if self.plan else "ok"
        if isinstance(step, int):
            return step, {"httpStatus": "Service Unavailable", "status": "ERROR"}
        count = len(body.get("dataValues", []))
        if step == "conflict":
            first = body["dataValues"][0]
            return 409, {
                "httpStatus": "Conflict",
                "httpStatusCode": 409,
                "status": "WARNING",
                "message": "One more conflicts encountered, please check import summary.",
                "response": {
                    "responseType": "ImportSummary",
                    "status": "WARNING",
                    "importCount": {
                        "imported": count - 1,
                        "updated": 0,
                        "ignored": 1,
                        "deleted": 0,
                    },
                    "conflicts": [
                        {
                            "object": first["orgUnit"],
                            "value": "Org unit not in hierarchy of current user",
                        }
                    ],
                },
            }
        return 200, {
            "httpStatus": "OK",
            "httpStatusCode": 200,
            "status": "OK",
            "response": {
                "responseType": "ImportSummary",
                "status": "SUCCESS",
                "importCount": {"imported": count, "updated": 0, "ignored": 0, "deleted": 0},
                "conflicts": [],
            },
        }


@contextmanager
def serve(plan: list[str | int]) -> Iterator[FakeDhis2]:
    """Run the fake on a loopback port for the ``with`` block."""
    fake = FakeDhis2(plan)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path.split("?")[0] != "/api/dataValueSets":
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            fake.received.append(body)
            fake.check(self.headers, body)
            status, answer = fake.answer(body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            del args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
