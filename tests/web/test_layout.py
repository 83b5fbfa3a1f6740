"""The shared layout and shell pages without a browser: landing pages by role, /docs from local
assets, charts as data (no inline script), the queue's collapsed filters."""

from __future__ import annotations

import re

import plotly.graph_objects as go
import pytest
from fastapi.testclient import TestClient

from safezone.web import charts, i18n
from tests.conftest import PASSWORD, MakeUser, csrf_from
from tests.declarations.conftest import make_body

HTML = {"Accept": "text/html"}


def _login(client: TestClient, username: str, next_page: str | None = None) -> str:
    form = client.get("/login" + (f"?next={next_page}" if next_page else ""), headers=HTML)
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": csrf_from(form.text),
            "next": re.search(r'name="next" value="([^"]*)"', form.text).group(1),  # type: ignore[union-attr]
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


@pytest.mark.parametrize(
    ("role", "unit", "landing"),
    [
        ("health_officer", "555", "/declarations"),
        ("verifier", "555", "/exposure/codes"),
        ("admin", "54", "/units"),
        ("campaign_officer", "555", "/campaign"),
        ("volunteer", "22015", "/volunteer/"),
    ],
)
def test_login_lands_on_the_roles_work_page(
    client: TestClient, make_user: MakeUser, role: str, unit: str, landing: str
) -> None:
    make_user("someone", role, unit)
    assert _login(client, "someone") == landing


def test_an_explicit_next_page_still_wins(client: TestClient, make_user: MakeUser) -> None:
    make_user("yte", "health_officer", "555")
    assert _login(client, "yte", "/declarations/dashboard") == "/declarations/dashboard"


def test_next_page_cannot_leave_the_site(client: TestClient, make_user: MakeUser) -> None:
    make_user("yte", "health_officer", "555")
    assert _login(client, "yte", "//evil.example/x") == "/declarations"


def test_docs_page_uses_local_assets_only(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "<script>" not in page.text  # no inline script: Swagger UI starts from docs.js
    assert 'data-openapi="/openapi.json"' in page.text
    for asset, kind in (
        ("/assets/swagger-ui-bundle.js", "javascript"),
        ("/assets/swagger-ui.css", "css"),
        ("/static/docs.js", "javascript"),
        ("/static/docs.css", "css"),
    ):
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert kind in answer.headers["content-type"], asset
    assert len(client.get("/assets/swagger-ui-bundle.js").content) > 500_000
    assert client.get("/redoc").status_code == 404  # it loaded from a CDN; /docs is enough


def test_chart_pages_have_no_inline_script(client: TestClient, make_user: MakeUser) -> None:
    assert client.post("/api/v1/declarations", json=make_body()).status_code == 201
    make_user("yte", "health_officer", "555")
    _login(client, "yte")
    for path in ("/declarations/dashboard", "/exposure/stats", "/units"):
        page = client.get(path, headers=HTML).text
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == [], path
        assert '<script src="/static/charts.js" defer></script>' in page
        assert "/assets/plotly.min.js" not in page  # charts.js fetches it where a chart is


def test_chart_markup_carries_the_figure_as_inert_data() -> None:
    i18n.set_locale("en")
    figure = go.Figure(go.Bar(x=["</script><script>alert(1)</script>"], y=[3]))
    html = str(charts.chart(figure, chart_id="c1"))
    assert html.startswith('<div class="chart" id="c1" data-figure="')
    assert "<script" not in html  # the label is escaped inside the attribute
    assert "</script" not in html


def test_empty_figures_show_a_notice_in_both_languages() -> None:
    figure = go.Figure([go.Bar(x=["a", "b"], y=[0, 0]), go.Bar(x=[], y=[])])
    assert not charts.has_data(figure)
    i18n.set_locale("vi")
    assert "Chưa có dữ liệu" in charts.chart(figure, chart_id="c")
    i18n.set_locale("en")
    assert "No data yet" in charts.chart(figure, chart_id="c")
    assert charts.has_data(go.Figure(go.Bar(x=["a"], y=[1])))


def test_queue_filters_collapse_unless_one_is_active(
    client: TestClient, make_user: MakeUser
) -> None:
    assert client.post("/api/v1/declarations", json=make_body()).status_code == 201
    make_user("yte", "health_officer", "555")
    _login(client, "yte")
    closed = client.get("/declarations", headers=HTML).text
    assert '<details class="filters-box" data-testid="filters">' in closed
    # The form as a browser sends it: every field, the blank dates empty (was a 422).
    blank = "unit=&date_from=&date_to=&risk=medium&symptom=&exposure=&q="
    opened = client.get(f"/declarations?{blank}", headers=HTML)
    assert opened.status_code == 200
    assert '<details class="filters-box" data-testid="filters" open>' in opened.text
