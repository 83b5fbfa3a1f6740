"""Templates: the sandbox, the [QC] label, no-diacritics, preview segments and cost."""

from __future__ import annotations

import pytest

from safezone.messaging.models import Template
from safezone.messaging.templating import (
    VARIABLES,
    check_body,
    preview,
    render,
    render_text,
)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("Xin chào {{ ten }}", "unknown_variable"),
        ("{{ link", "syntax"),
        ("{% for x in link %}{{ x }}{% endfor %}", None),  # harmless: iterates a string
        ("{{ link.__class__.__mro__ }}", "render"),
        ("{{ ''.__class__.__base__.__subclasses__() }}", "render"),
        ("{{ app.upper() }}", None),
        ("x" * 601, "too_long"),
        ("   ", "required"),
    ],
)
def test_check_body(body: str, code: str | None) -> None:
    errors = check_body("body_vi", body, required=True)
    assert [e.code for e in errors] == ([code] if code else [])
    for error in errors:
        assert error.field == "body_vi"
        assert error.message_vi
        assert error.message_en


def test_advertising_is_labelled_once_and_marks_can_be_removed() -> None:
    assert render_text("Cài {{ app }}", VARIABLES, klass="advertising") == "[QC] Cài Bluezone"
    assert render_text("[QC] Cài {{ app }}", VARIABLES, klass="advertising") == "[QC] Cài Bluezone"
    assert render_text("Cài {{ app }}", VARIABLES, no_diacritics=True) == "Cai Bluezone"
    assert render_text("Cài {{ app }}", VARIABLES) == "Cài Bluezone"


def test_english_falls_back_to_vietnamese_and_preview_prices() -> None:
    template = Template(
        name="t",
        klass="public_health",
        body_vi="Hãy cài {{ app }}: {{ link }}",
        body_en="",
        strip_diacritics=False,
        zns_template_id="231234",
    )
    assert render(template, "en", VARIABLES).startswith("Hãy cài")
    (only,) = preview(template, {"sms": 350, "zns": 250})
    assert only.segments.encoding == "UCS-2"
    assert only.segments.parts == 1
    assert only.cost == {"sms": 350, "zns": 250}
    template.strip_diacritics = True
    (plain,) = preview(template, {"sms": 350, "zns": 250})
    assert plain.segments.encoding == "GSM-7"
    assert plain.text.startswith("Hay cai")
