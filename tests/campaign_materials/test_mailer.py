"""The report mailer against a real SMTP server on loopback (aiosmtpd), with STARTTLS and
authentication, and the attachment checked byte for byte."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from safezone.campaign.materials import mailer
from safezone.campaign.materials.models import CampaignReport, ReportFormat, ReportPeriod
from safezone.db.engine import Database
from safezone.errors import InvalidInput

from .conftest import COMMUNE

USER, PASSWORD = "baocao", "mat-khau-thu-nghiem"


class Inbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        received = message_from_bytes(envelope.content, policy=default)
        self.messages.append((list(envelope.rcpt_tos), received))
        return "250 OK"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok)


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield inbox, port, cert
    finally:
        controller.stop()


def client_for(port: int, cert: Path, **changes: Any) -> mailer.Mailer:
    trust = ssl.create_default_context(cafile=str(cert))
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "username": USER,
        "password": PASSWORD,
        "sender": "safezone@phuyen.gov.vn",
        "tls": trust,
        "timeout": 10,
    }
    values.update(changes)
    return mailer.Mailer(**values)


def test_report_arrives_with_its_attachment(
    db: Database, smtp_server: tuple[Inbox, int, Path]
) -> None:
    inbox, port, cert = smtp_server
    xlsx = b"PK\x03\x04 not really a workbook \x00\xff" * 50
    with db.session() as session:
        mailer.set_recipients(
            session, COMMUNE, ["SoYTe@phuyen.gov.vn", "sotttt@phuyen.gov.vn"], user=None
        )
        report = CampaignReport(
            unit_code=COMMUNE,
            period=ReportPeriod.WEEK,
            period_start=dt.date(2026, 11, 24),
            period_end=dt.date(2026, 11, 30),
            format=ReportFormat.XLSX,
            content=xlsx,
        )
        session.add(report)
        session.flush()
        sent_to = mailer.email_reports(
            session, client_for(port, cert), [report], unit_name="Phường 1"
        )
        assert report.emailed_at is not None
    assert sent_to == ["sotttt@phuyen.gov.vn", "soyte@phuyen.gov.vn"]
    [(envelope_to, message)] = inbox.messages
    assert sorted(envelope_to) == sent_to
    assert message["Subject"] == (
        "Báo cáo tuần chiến dịch cài đặt ứng dụng – Phường 1 – 30/11/2026"
    )
    parts = [part for part in message.walk() if part.get_filename()]
    assert [part.get_filename() for part in parts] == ["bao-cao-22015-week-2026-11-30.xlsx"]
    assert parts[0].get_content_type() == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert parts[0].get_payload(decode=True) == xlsx


def test_wrong_password_and_untrusted_certificate_fail(
    smtp_server: tuple[Inbox, int, Path],
) -> None:
    import smtplib

    inbox, port, cert = smtp_server
    # smtplib falls back from PLAIN to LOGIN after the 535, which aiosmtpd leaves hanging:
    # either way the message is refused.
    with pytest.raises(smtplib.SMTPException):
        client_for(port, cert, password="sai", timeout=2).send(["a@b.vn"], "x", "y")
    with pytest.raises(ssl.SSLCertVerificationError):
        client_for(port, cert, tls=None).send(["a@b.vn"], "x", "y")
    assert inbox.messages == []


def test_recipients_are_validated_whole() -> None:
    with pytest.raises(InvalidInput) as caught:
        mailer.check_emails(["ok@phuyen.gov.vn", "not an address", "x@"])
    assert [error.field for error in caught.value.errors] == ["emails[1]", "emails[2]"]
