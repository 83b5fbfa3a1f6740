"""Message templates: sandboxed rendering, validation, preview with segments and cost.

Texts are Jinja2 rendered in a :class:`~jinja2.sandbox.SandboxedEnvironment` with a fixed set
of variables (:data:`VARIABLES`), so a template written by staff can read only those values
and call nothing unsafe. Advertising texts start with the ``[QC]`` label (Decree 91/2020).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.db.base import utcnow
from safezone.errors import Conflict, FieldError, InvalidInput, NotFound
from safezone.messaging.models import TEMPLATE_CLASSES, Template
from safezone.messaging.sms import Segments, segments, strip_diacritics
from safezone.units.models import Unit

ADVERTISING_LABEL = "[QC]"
#: Variables a template may use, with the sample values the preview renders.
VARIABLES: dict[str, str] = {
    "link": "https://sz.vn/i/Ab3dE5fG7hJ9kL1mN3pQ5r",
    "app": "Bluezone",
    "unit": "Phường 7",
    "hotline": "1900 9095",
}
MAX_BODY = 600  # characters: Kannel's 3-part limit at 153 septets is 459; ZNS allows more

_ENV = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)


def _error(field: str, code: str, vi: str, en: str) -> FieldError:
    return FieldError(field, code, vi, en)


def check_body(field: str, body: str, *, required: bool) -> list[FieldError]:
    """Problems with one template text: syntax, unknown variables, length."""
    if not body.strip():
        missing = _error(field, "required", "Thiếu nội dung.", "The text is missing.")
        return [missing] if required else []
    if len(body) > MAX_BODY:
        return [
            _error(
                field,
                "too_long",
                f"Nội dung quá dài (tối đa {MAX_BODY} ký tự).",
                f"The text is too long (at most {MAX_BODY} characters).",
            )
        ]
    try:
        parsed = _ENV.parse(body)
    except TemplateSyntaxError as exc:
        return [
            _error(
                field,
                "syntax",
                f"Lỗi cú pháp ở dòng {exc.lineno}: {exc.message}",
                f"Syntax error on line {exc.lineno}: {exc.message}",
            )
        ]
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(VARIABLES))
    if unknown:
        names = ", ".join(unknown)
        allowed = ", ".join(VARIABLES)
        return [
            _error(
                field,
                "unknown_variable",
                f"Biến không được dùng: {names} (được dùng: {allowed}).",
                f"Unknown variables: {names} (allowed: {allowed}).",
            )
        ]
    try:
        _ENV.from_string(body).render(VARIABLES)
    except (SecurityError, UndefinedError, TypeError, ValueError) as exc:
        return [_error(field, "render", f"Không dựng được: {exc}", f"Cannot render: {exc}")]
    return []


def render_text(
    body: str,
    variables: Mapping[str, Any],
    *,
    klass: str = "public_health",
    no_diacritics: bool = False,
) -> str:
    """One text rendered in the sandbox, labelled ``[QC]`` if advertising, marks removed if
    asked."""
    text = _ENV.from_string(body).render(dict(variables)).strip()
    if klass == "advertising" and not text.startswith(ADVERTISING_LABEL):
        text = f"{ADVERTISING_LABEL} {text}"
    return strip_diacritics(text) if no_diacritics else text


def body_for(template: Template, language: str) -> str:
    """The template's text in ``language`` (Vietnamese when there is no English text)."""
    if language == "en" and template.body_en.strip():
        return template.body_en
    return template.body_vi


def render(template: Template, language: str, variables: Mapping[str, Any]) -> str:
    """The message text for a contact speaking ``language``."""
    return render_text(
        body_for(template, language),
        variables,
        klass=template.klass,
        no_diacritics=template.strip_diacritics,
    )


@dataclass(frozen=True, slots=True)
class Preview:
    """A rendered sample with its SMS encoding, parts and cost per recipient per channel."""

    language: str
    text: str
    segments: Segments
    cost: dict[str, int]  # channel -> VND per recipient


def cost_per_recipient(seg: Segments, prices: Mapping[str, int], *, zns: bool) -> dict[str, int]:
    """VND per recipient: SMS per part; ZNS per message (only for templates Zalo approved)."""
    cost = {"sms": seg.parts * prices.get("sms", 0)}
    if zns:
        cost["zns"] = prices.get("zns", 0)
    return cost


def preview(
    template: Template,
    prices: Mapping[str, int],
    variables: Mapping[str, Any] | None = None,
) -> list[Preview]:
    """The sample rendering in each language the template has."""
    languages = ["vi"] + (["en"] if template.body_en.strip() else [])
    result = []
    for language in languages:
        text = render(template, language, variables or VARIABLES)
        seg = segments(text)
        zns = bool(template.zns_template_id)
        result.append(Preview(language, text, seg, cost_per_recipient(seg, prices, zns=zns)))
    return result


# --- stored templates ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateIn:
    """The fields of a template as entered."""

    name: str
    klass: str
    body_vi: str
    body_en: str = ""
    strip_diacritics: bool = False
    app_code: str | None = None
    zns_template_id: str | None = None


def _validate(session: Session, data: TemplateIn) -> list[FieldError]:
    errors: list[FieldError] = []
    if not data.name.strip() or len(data.name) > 80:
        errors.append(
            _error(
                "name",
                "invalid",
                "Tên phải có 1 đến 80 ký tự.",
                "The name needs 1 to 80 characters.",
            )
        )
    if data.klass not in TEMPLATE_CLASSES:
        errors.append(
            _error(
                "klass",
                "invalid_choice",
                "Loại phải là public_health hoặc advertising.",
                "The class must be public_health or advertising.",
            )
        )
    errors += check_body("body_vi", data.body_vi, required=True)
    errors += check_body("body_en", data.body_en, required=False)
    if data.app_code is not None and not (0 < len(data.app_code) <= 20):
        errors.append(
            _error("app_code", "invalid", "Mã ứng dụng không hợp lệ.", "Invalid app code.")
        )
    if data.zns_template_id is not None and not (0 < len(data.zns_template_id) <= 40):
        errors.append(
            _error(
                "zns_template_id", "invalid", "Mã mẫu ZNS không hợp lệ.", "Invalid ZNS template id."
            )
        )
    return errors


def create_template(
    session: Session, data: TemplateIn, *, unit: Unit, actor: str, now: dt.datetime | None = None
) -> Template:
    """Store a new template after full validation; a taken name is a Conflict."""
    errors = _validate(session, data)
    if errors:
        raise InvalidInput(*errors)
    if session.scalar(select(Template.id).where(Template.name == data.name.strip())):
        raise Conflict.single(
            "name", "taken", "Tên mẫu đã được dùng.", "A template with this name exists."
        )
    now = now or utcnow()
    template = Template(
        name=data.name.strip(),
        klass=data.klass,
        body_vi=data.body_vi.strip(),
        body_en=data.body_en.strip(),
        strip_diacritics=data.strip_diacritics,
        app_code=data.app_code,
        zns_template_id=data.zns_template_id,
        unit_code=unit.code,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(template)
    session.flush()
    return template


def by_name(session: Session, name: str) -> Template:
    """The template called ``name``; NotFound otherwise."""
    template = session.scalars(select(Template).where(Template.name == name)).first()
    if template is None:
        raise NotFound.single("template", "not_found", "Không có mẫu này.", "No such template.")
    return template
