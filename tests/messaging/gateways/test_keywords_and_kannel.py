"""MO keywords (table from a data file, plus properties), and the Kannel client's pure parts."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from safezone.config import GatewaysConfig
from safezone.messaging import keywords
from safezone.messaging.channels import kannel
from safezone.messaging.channels.base import Outgoing
from safezone.messaging.channels.zns import action_for, error_actions
from safezone.messaging.gateway import decode_mo, normalise_sender

CONFIG = GatewaysConfig()
CASES = json.loads((Path(__file__).parent / "data" / "mo_keywords.json").read_text())["cases"]


def parse(text: str) -> keywords.Intent:
    return keywords.parse(
        text,
        opt_out=CONFIG.opt_out_keywords,
        installed=CONFIG.install_keywords,
        apps=CONFIG.app_aliases,
    )


@pytest.mark.parametrize(("text", "kind", "app"), CASES)
def test_mo_keyword_table(text: str, kind: str, app: str | None) -> None:
    assert parse(text) == keywords.Intent(kind, app)  # type: ignore[arg-type]


@given(st.sampled_from(["TU CHOI", "HUY", "STOP"]), st.text(max_size=30))
def test_opt_out_keyword_wins_whatever_follows_a_space(keyword: str, rest: str) -> None:
    assert parse(f"{keyword} {rest}").kind == "opt_out"


@given(st.text(max_size=40))
def test_fold_is_idempotent_and_ascii(text: str) -> None:
    folded = keywords.fold(text)
    assert keywords.fold(folded) == folded
    assert folded.isascii()


def test_keywords_are_configurable() -> None:
    intent = keywords.parse("KHONG NHAN", opt_out=["Không nhận"], installed=[], apps={})
    assert intent.kind == "opt_out"
    assert keywords.parse("TU CHOI", opt_out=["Không nhận"], installed=[], apps={}).kind == "none"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0905123456", "+84905123456"),
        ("84905123456", "+84905123456"),
        ("+84905123456", "+84905123456"),
        ("abc", None),
        ("12", None),
    ],
)
def test_sender_numbers_from_kannel(raw: str, expected: str | None) -> None:
    assert normalise_sender(raw) == expected


def test_mo_body_charsets() -> None:
    text = "Từ chối"
    assert decode_mo(text.encode("utf-16-be"), "UTF-16BE") == text
    assert decode_mo(text.encode(), "UTF-8") == text
    assert decode_mo(b"caf\xe9", "8-BIT") == "café"


@pytest.mark.parametrize(
    ("text", "gsm"),
    [
        ("Hello CI", True),
        ("Gia 5€ [QC]", True),
        ("Giá", False),
        ("Xin chào", False),
        ("Đ", False),
        ("", True),
    ],
)
def test_gsm7_detection(text: str, gsm: bool) -> None:
    assert kannel.is_gsm7(text) is gsm


def test_sendsms_params_vietnamese_go_ucs2_with_charset() -> None:
    params = kannel.sendsms_params(
        Outgoing(7, "+84905123456", "Xin chào"),
        username="u",
        password="p",
        dlr_callback="http://x/dlr?m=7&t=abc&s=%d",
    )
    assert params["coding"] == "2"
    assert params["charset"] == "UTF-8"
    assert params["dlr-mask"] == "31"
    ascii_params = kannel.sendsms_params(
        Outgoing(7, "+84905123456", "Hello"), username="u", password="p", dlr_callback=""
    )
    assert "coding" not in ascii_params
    assert "dlr-url" not in ascii_params


def test_dlr_url_carries_id_and_mac_and_kannel_escapes() -> None:
    url = kannel.dlr_url("http://127.0.0.1:8000/", b"k" * 32, 42)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["m"] == "42"
    assert query["s"] == "%d"
    assert query["a"] == "%A"
    assert kannel.check_dlr_mac((b"k" * 32,), 42, query["t"])
    assert not kannel.check_dlr_mac((b"k" * 32,), 43, query["t"])
    assert not kannel.check_dlr_mac((b"x" * 32,), 42, query["t"])


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (202, "0: Accepted for delivery", "accepted"),
        (202, "3: Queued for later delivery", "accepted"),
        (403, "Not routable. Do not try again.", "rejected"),
        (400, "Number(s) has/have been denied by white- and/or black-lists.", "rejected"),
        (403, "Authorization failed for sendsms", "retry"),
        (503, "", "retry"),
        (500, "oops", "retry"),
    ],
)
def test_sendsms_answers(status: int, body: str, outcome: str) -> None:
    assert kannel.classify(status, body).outcome == outcome


def test_network_errors_are_retry_or_ambiguous() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    for handler, outcome in ((refuse, "retry"), (hang, "ambiguous")):
        channel = kannel.KannelChannel(
            sendsms_url="http://kannel/cgi-bin/sendsms",
            username="u",
            password="p",
            callback_base_url="http://app",
            dlr_key=b"k" * 32,
            client=httpx.Client(transport=httpx.MockTransport(handler)),
        )
        assert channel.send(Outgoing(1, "+84905123456", "hi")).outcome == outcome


@pytest.mark.parametrize(
    ("xml", "empty"),
    [
        (
            (
                "<gateway><sms><received><queued>0</queued></received>"
                "<sent><queued>0</queued></sent></sms><smscs><smsc><queued>0</queued></smsc>"
                "</smscs></gateway>"
            ),
            True,
        ),
        ("<gateway><sms><sent><queued>3</queued></sent></sms></gateway>", False),
        ("<gateway/>", None),
        ("not xml", None),
    ],
)
def test_gateway_queue_check(xml: str, empty: bool | None) -> None:
    assert kannel.queues_empty(xml) is empty


def test_zns_error_map_is_data() -> None:
    assert action_for(-118) == "fallback"
    assert action_for(-124) == "refresh"
    assert action_for(-144) == "quota"
    assert action_for(-99999) == "retry"  # unknown: retry later
    assert error_actions()[0] == "accepted"
