"""E-mailing reports by SMTP, with STARTTLS and authentication as configured.

Settings (``SAFEZONE_MATERIALS__SMTP_*``): host, port, starttls, username, password, sender.
Recipients are configured per unit (work addresses, e.g. the Department of Health's).
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from safezone.accounts.models import User
from safezone.accounts.service import record
from safezone.campaign.materials.models import CampaignReport, ReportRecipient
from safezone.config import MaterialsConfig
from safezone.errors import FieldError, InvalidInput

_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
MIME_TYPES: dict[str, tuple[str, str]] = {
    "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pdf": ("application", "pdf"),
    "mp3": ("audio", "mpeg"),
    "zip": ("application", "zip"),
}


class MailNotConfigured(RuntimeError):
    """``SAFEZONE_MATERIALS__SMTP_HOST`` is empty."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class Mailer:
    """An SMTP client for one server."""

    host: str
    port: int = 587
    starttls: bool = True
    username: str = ""
    password: str = ""
    sender: str = "safezone@localhost"
    timeout: float = 30
    #: The TLS context for STARTTLS (default: the system's trusted CAs, hostname checked).
    tls: ssl.SSLContext | None = None

    @classmethod
    def from_config(cls, config: MaterialsConfig) -> Mailer:
        """The mailer ``config`` describes, or MailNotConfigured."""
        if not config.smtp_host:
            raise MailNotConfigured("SAFEZONE_MATERIALS__SMTP_HOST is not set")
        return cls(
            host=config.smtp_host,
            port=config.smtp_port,
            starttls=config.smtp_starttls,
            username=config.smtp_username,
            password=config.smtp_password.get_secret_value() if config.smtp_password else "",
            sender=config.smtp_sender,
            timeout=config.smtp_timeout_seconds,
        )

    def message(
        self,
        recipients: Sequence[str],
        subject: str,
        body: str,
        attachments: Sequence[Attachment] = (),
    ) -> EmailMessage:
        """The message as it will be sent."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(body)
        for item in attachments:
            maintype, subtype = MIME_TYPES.get(
                item.filename.rpartition(".")[2], ("application", "octet-stream")
            )
            message.add_attachment(
                item.content, maintype=maintype, subtype=subtype, filename=item.filename
            )
        return message

    def send(
        self,
        recipients: Sequence[str],
        subject: str,
        body: str,
        attachments: Sequence[Attachment] = (),
    ) -> None:
        """Send one message to ``recipients`` (raises smtplib/OSError errors as they come)."""
        message = self.message(recipients, subject, body, attachments)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
            client.ehlo()
            if self.starttls:
                client.starttls(context=self.tls or ssl.create_default_context())
                client.ehlo()
            if self.username:
                client.login(self.username, self.password)
            client.send_message(message, to_addrs=list(recipients))


def check_emails(values: Sequence[str], field: str = "emails") -> list[str]:
    """Addresses lower-cased and de-duplicated; InvalidInput naming each bad one."""
    cleaned: list[str] = []
    errors = []
    for index, raw in enumerate(values):
        value = raw.strip()
        if not value:
            continue
        if len(value) > 254 or not _EMAIL.match(value):
            errors.append(
                FieldError(
                    f"{field}[{index}]",
                    "email",
                    f"Địa chỉ thư điện tử không hợp lệ: {value!r}",
                    f"Not a valid e-mail address: {value!r}",
                )
            )
        elif value.lower() not in cleaned:
            cleaned.append(value.lower())
    if errors:
        raise InvalidInput(*errors)
    return cleaned


def set_recipients(
    session: Session, unit_code: str, emails: Sequence[str], *, user: User | None
) -> list[str]:
    """Replace ``unit_code``'s report recipients (validated whole first; audited)."""
    cleaned = check_emails(emails)
    session.execute(delete(ReportRecipient).where(ReportRecipient.unit_code == unit_code))
    for email in cleaned:
        session.add(ReportRecipient(unit_code=unit_code, email=email))
    record(
        session,
        actor=user.username if user else None,
        action="campaign.report_recipients_set",
        object_type="unit",
        object_id=unit_code,
        unit_code=unit_code,
        detail={"count": len(cleaned)},
    )
    session.flush()
    return cleaned


def recipients(session: Session, unit_code: str) -> list[str]:
    """Where ``unit_code``'s reports go."""
    query = select(ReportRecipient.email).where(ReportRecipient.unit_code == unit_code)
    return list(session.scalars(query.order_by(ReportRecipient.email)))


def email_reports(
    session: Session,
    mailer: Mailer,
    stored: Sequence[CampaignReport],
    *,
    unit_name: str,
    to: Sequence[str] | None = None,
) -> list[str]:
    """E-mail ``stored`` reports (of one unit and period) as attachments in one message.

    Goes to ``to`` or else the unit's recipients; returns the addresses (none: nothing sent).
    """
    from safezone.campaign.materials.reports import file_name

    if not stored:
        return []
    first = stored[0]
    targets = list(to) if to is not None else recipients(session, first.unit_code)
    if not targets:
        return []
    kind = "ngày" if first.period.value == "day" else "tuần"
    span = f"{first.period_end:%d/%m/%Y}"
    subject = f"Báo cáo {kind} chiến dịch cài đặt ứng dụng – {unit_name} – {span}"
    body = (
        f"Kính gửi Quý cơ quan,\n\nsafezone gửi kèm báo cáo {kind} của {unit_name} "
        f"(kỳ {first.period_start:%d/%m/%Y} – {first.period_end:%d/%m/%Y}).\n\n"
        f"Campaign {'daily' if kind == 'ngày' else 'weekly'} report of {unit_name} attached.\n"
    )
    mailer.send(
        targets,
        subject,
        body,
        [Attachment(file_name(report), report.content) for report in stored],
    )
    now = dt.datetime.now(dt.UTC)
    for report in stored:
        report.emailed_at = now
    session.flush()
    return targets
