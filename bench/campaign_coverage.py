"""Campaign coverage roll-ups on PostgreSQL: 11,000 units, 2 million households, 5 million visits.

Builds, in a throw-away PostgreSQL database (its name must contain "bench"), one province of
100 districts x 10 communes x 10 villages (11,101 units), 2,000,000 households in the villages,
5,000,000 visits over 30 days (80% home; each home visit has a result for ncovi and bluezone)
and official counts for a third of the communes on three dates. Data is made by the database
itself (``INSERT ... SELECT generate_series``), not row by row.

Then, in the same run:

- ``refresh``: ``figures.refresh_field`` materialises the door-to-door figures from the visits
  (what the worker or the volunteer sync does after visits arrive);
- ours: the province page's numbers (``unit_coverage`` + ``children_coverage``) and one
  district's, through ``safezone.campaign.coverage``;
- baseline: the same aggregate (the counting rule per commune, summed per child) written as one
  hand-tuned SQL query over the same figures;
- raw: the same aggregate computed straight from the visits in one query (no materialised
  figures), for scale;
- the province page itself (``GET /campaign``, HTML with both charts) through the app.

Prints one JSON line: medians in milliseconds and ``ratio_province`` / ``ratio_district``
(ours / hand-tuned; target at most 2) and ``page_province_ms`` (target under 1,000).

    SAFEZONE_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/sz_campaign_bench \
        python bench/campaign_coverage.py [--households 2000000] [--visits 5000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
from collections.abc import Callable

from sqlalchemy import text

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/sz_campaign_bench"
PROVINCE = "99"
DAY = dt.date(2026, 11, 30)


def median_ms(function: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def build(database, households: int, visits: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Create the data with set-based SQL; returns seconds per step."""
    timings: dict[str, float] = {}
    steps = [
        (
            "units",
            f"""
            INSERT INTO units (code, name, type, level, parent_code, path, population,
                               households, successor_codes)
            VALUES ('{PROVINCE}', 'Tỉnh Bench', 'tỉnh', 'province', NULL, '{PROVINCE}/',
                    NULL, NULL, '');
            INSERT INTO units (code, name, type, level, parent_code, path, population,
                               households, successor_codes)
            SELECT '{PROVINCE}' || lpad(d::text, 3, '0'), 'Huyện ' || d, 'huyện', 'district',
                   '{PROVINCE}', '{PROVINCE}/{PROVINCE}' || lpad(d::text, 3, '0') || '/',
                   NULL, NULL, ''
            FROM generate_series(0, 99) d;
            INSERT INTO units (code, name, type, level, parent_code, path, population,
                               households, successor_codes)
            SELECT '{PROVINCE}' || lpad(d::text, 3, '0') || lpad(c::text, 2, '0'),
                   'Xã ' || d || '-' || c, 'xã', 'commune', '{PROVINCE}' || lpad(d::text, 3, '0'),
                   '{PROVINCE}/{PROVINCE}' || lpad(d::text, 3, '0') || '/{PROVINCE}'
                     || lpad(d::text, 3, '0') || lpad(c::text, 2, '0') || '/',
                   6000 + ((d * 10 + c) * 7919) % 9000, NULL, ''
            FROM generate_series(0, 99) d, generate_series(0, 9) c;
            INSERT INTO units (code, name, type, level, parent_code, path, population,
                               households, successor_codes)
            SELECT u.code || lpad(v::text, 2, '0'), 'Thôn ' || v, 'thôn', 'village', u.code,
                   u.path || u.code || lpad(v::text, 2, '0') || '/', u.population / 10, NULL, ''
            FROM units u, generate_series(0, 9) v WHERE u.level = 'commune';
            """,
        ),
        (
            "households",
            f"""
            INSERT INTO campaign_households (unit_code, members, import_key, not_home_tries,
                                             created_at)
            SELECT '{PROVINCE}' || lpad(((g % 10000) / 100)::text, 3, '0')
                     || lpad((((g % 10000) / 10) % 10)::text, 2, '0')
                     || lpad((g % 10)::text, 2, '0'),
                   1 + g % 6, md5(g::text), 0, now()
            FROM generate_series(0, {households - 1}) g;
            """,
        ),
        (
            "visits",
            f"""
            INSERT INTO campaign_visits (client_id, household_id, unit_code, visited_at, outcome,
                                         people_home, smartphones, consent_reminders,
                                         created_at, updated_at)
            SELECT md5('v' || g::text), h.id, h.unit_code,
                   timestamptz '{DAY.isoformat()} 02:00+00' - ((g % 30) || ' days')::interval
                     - ((g % 600) || ' minutes')::interval,
                   CASE WHEN g % 5 = 0 THEN 'not_home' ELSE 'home' END,
                   1 + g % 4, g % 4, false, now(), now()
            FROM generate_series(0, {visits - 1}) g
            JOIN campaign_households h ON h.id = 1 + (g % {households});
            """,
        ),
        (
            "visit_apps",
            """
            INSERT INTO campaign_visit_apps (visit_id, app_code, result)
            SELECT v.id, a.code,
                   (ARRAY['already_installed', 'installed_with_help', 'refused',
                          'no_smartphone', 'later'])[1 + (v.id * 7 + length(a.code)) % 5]
            FROM campaign_visits v CROSS JOIN (VALUES ('ncovi'), ('bluezone')) a(code)
            WHERE v.outcome = 'home';
            """,
        ),
        (
            "official",
            f"""
            INSERT INTO campaign_figures (unit_code, app_code, source, installs,
                                          smartphone_users, as_of, entered_at, origin)
            SELECT u.code, a.code, 'official', (u.population * (20 + n * 10)) / 100,
                   (u.population * 7) / 10, date '{DAY.isoformat()}' - (n * 7), now(), 'bench'
            FROM units u CROSS JOIN (VALUES ('ncovi'), ('bluezone')) a(code)
            CROSS JOIN generate_series(0, 2) n
            WHERE u.level = 'commune' AND (hashtext(u.code) % 3) = 0;
            INSERT INTO campaign_targets (unit_code, app_code, base, share, deadline, updated_at)
            VALUES ('{PROVINCE}', 'ncovi', 'population', 0.6, date '2026-12-31', now());
            """,
        ),
    ]
    with database.engine.begin() as connection:
        connection.execute(text("SET LOCAL synchronous_commit = off"))
        # Generated rows are consistent by construction: skip per-row foreign-key triggers.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        for name, sql in steps:
            started = time.perf_counter()
            connection.execute(text(sql))
            connection.execute(text("ANALYZE"))  # the next step's join needs fresh statistics
            timings[f"build_{name}_s"] = round(time.perf_counter() - started, 1)
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return timings


def _refresh_one(database, figures, commune: str) -> None:  # type: ignore[no-untyped-def]
    with database.session() as session:
        figures.refresh_field(session, as_of=DAY, within=commune)


#: The counting rule per commune, summed per child of the root, in one query.
HAND_TUNED = """
WITH latest AS (
    SELECT DISTINCT ON (f.unit_code, f.source) f.unit_code, f.source, f.installs,
           f.smartphone_users
    FROM campaign_figures f
    JOIN units u ON u.code = f.unit_code
    WHERE f.app_code = :app AND f.superseded_at IS NULL AND f.as_of <= :day
      AND f.source IN ('official', 'field') AND u.path >= :lo AND u.path < :hi
    ORDER BY f.unit_code, f.source, f.as_of DESC, f.id DESC
), commune AS (
    SELECT u.code, u.path, u.population FROM units u
    WHERE u.level = 'commune' AND u.path >= :lo AND u.path < :hi
), field AS (
    SELECT c.code, sum(l.installs) AS installs
    FROM latest l JOIN units u ON u.code = l.unit_code
    JOIN commune c ON c.code = CASE WHEN u.level = 'village' THEN u.parent_code ELSE u.code END
    WHERE l.source = 'field' GROUP BY c.code
)
SELECT split_part(substr(c.path, length(:lo) + 1), '/', 1) AS child,
       sum(c.population) AS population,
       sum(COALESCE(o.smartphone_users, round(c.population * 0.6))) AS smartphones,
       sum(COALESCE(o.installs, f.installs, 0)) AS installs
FROM commune c
LEFT JOIN latest o ON o.unit_code = c.code AND o.source = 'official'
LEFT JOIN field f ON f.code = c.code
GROUP BY 1 ORDER BY 1
"""

#: The same numbers straight from the visits (no materialised field figures).
RAW = """
WITH last_home AS (
    SELECT DISTINCT ON (v.household_id) v.id, v.unit_code, v.smartphones
    FROM campaign_visits v JOIN units u ON u.code = v.unit_code
    WHERE v.outcome = 'home' AND v.visited_at < :end AND u.path >= :lo AND u.path < :hi
    ORDER BY v.household_id, v.visited_at DESC, v.id DESC
), field AS (
    SELECT u.parent_code AS code, sum(GREATEST(l.smartphones, 1)) AS installs
    FROM last_home l JOIN campaign_visit_apps a ON a.visit_id = l.id
    JOIN units u ON u.code = l.unit_code
    WHERE a.app_code = :app AND a.result IN ('already_installed', 'installed_with_help')
    GROUP BY u.parent_code
), official AS (
    SELECT DISTINCT ON (f.unit_code) f.unit_code, f.installs FROM campaign_figures f
    WHERE f.app_code = :app AND f.source = 'official' AND f.superseded_at IS NULL
      AND f.as_of <= :day
    ORDER BY f.unit_code, f.as_of DESC, f.id DESC
)
SELECT sum(COALESCE(o.installs, f.installs, 0))
FROM units c LEFT JOIN official o ON o.unit_code = c.code LEFT JOIN field f ON f.code = c.code
WHERE c.level = 'commune' AND c.path >= :lo AND c.path < :hi
"""


def main() -> None:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=2_000_000)
    parser.add_argument("--visits", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--reuse", action="store_true", help="measure again on the data of an earlier run"
    )
    args = parser.parse_args()
    url = os.environ.get("SAFEZONE_BENCH_DATABASE_URL", DEFAULT_URL)
    if "bench" not in url.rsplit("/", 1)[-1]:
        raise SystemExit("the bench database's name must contain 'bench' (it is emptied)")

    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from safezone.accounts import service as accounts
    from safezone.accounts.models import User
    from safezone.app import create_app
    from safezone.campaign import coverage, figures
    from safezone.config import Settings
    from safezone.db.engine import Database
    from safezone.db.migrate import upgrade

    settings = Settings(database_url=url, secret_key="bench-secret-" + "x" * 40)
    database = Database(settings.sqlalchemy_url)
    assert database.is_postgresql, "this benchmark runs on PostgreSQL"
    result: dict[str, object] = {"bench": "campaign_coverage", "database": "postgresql"}
    if not args.reuse:
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(database.engine)
        result.update(build(database, args.households, args.visits))
    with database.session() as session:
        counts = session.execute(
            text(
                "SELECT (SELECT count(*) FROM units), (SELECT count(*) FROM campaign_households),"
                " (SELECT count(*) FROM campaign_visits)"
            )
        ).one()
    result.update(units=counts[0], households=counts[1], visits=counts[2])

    started = time.perf_counter()
    with database.session() as session:
        written = figures.refresh_field(session, as_of=DAY)
    result["refresh_field_s"] = round(time.perf_counter() - started, 2)
    result["field_figures_written"] = written
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    started = time.perf_counter()
    with database.session() as session:
        again = figures.refresh_field(session, as_of=DAY)
    result["refresh_field_again_s"] = round(time.perf_counter() - started, 2)
    assert again == 0
    # What a volunteer's sync would run: one commune (10 villages, ~2,000 households).
    commune_refresh = median_ms(
        lambda: _refresh_one(database, figures, f"{PROVINCE}04205"), args.repeat
    )
    result["refresh_field_one_commune_ms"] = round(commune_refresh, 1)
    result["load_average_1min"] = round(os.getloadavg()[0], 1)

    district = f"{PROVINCE}042"
    with database.read_session() as session:

        def ours(code: str) -> list[int]:
            own, kids = coverage.coverage_tree(session, code, "ncovi", as_of=DAY)
            assert own.installs == sum(k.installs for k in kids)
            return [k.installs for k in kids]

        def hand(code: str) -> list[int]:
            lo = session.execute(text("SELECT path FROM units WHERE code = :c"), {"c": code})
            path = lo.scalar_one()
            rows = session.execute(
                text(HAND_TUNED),
                {"app": "ncovi", "day": DAY, "lo": path, "hi": path[:-1] + "0"},
            ).all()
            return [int(r.installs) for r in rows]

        def raw(code: str) -> int:
            path = session.execute(
                text("SELECT path FROM units WHERE code = :c"), {"c": code}
            ).scalar_one()
            end = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(0), coverage.VIETNAM)
            return int(
                session.execute(
                    text(RAW),
                    {"app": "ncovi", "day": DAY, "end": end, "lo": path, "hi": path[:-1] + "0"},
                ).scalar_one()
            )

        # Same numbers three ways before timing anything.
        province_kids = ours(PROVINCE)
        assert province_kids == hand(PROVINCE), "the hand-tuned query disagrees"
        assert sum(province_kids) == raw(PROVINCE), "the raw query disagrees"
        assert ours(district) == hand(district)
        result["province_installs"] = sum(province_kids)
        result["ours_province_ms"] = round(median_ms(lambda: ours(PROVINCE), args.repeat), 1)
        result["hand_tuned_province_ms"] = round(median_ms(lambda: hand(PROVINCE), args.repeat), 1)
        result["ours_district_ms"] = round(median_ms(lambda: ours(district), args.repeat), 1)
        result["hand_tuned_district_ms"] = round(median_ms(lambda: hand(district), args.repeat), 1)
        result["raw_from_visits_province_ms"] = round(median_ms(lambda: raw(PROVINCE), 3), 1)

    with database.session() as session:
        admin = session.scalar(select(User).where(User.username == "bench.admin"))
        if admin is None:
            admin = accounts.create_user(
                session,
                username="bench.admin",
                password="bench-password-123",
                role="admin",
                unit_code=PROVINCE,
            )
        token = accounts.issue_token(session, admin)
    with TestClient(create_app(settings, database)) as client:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/html"}

        def page() -> None:
            response = client.get(f"/campaign?unit={PROVINCE}&app=ncovi", headers=headers)
            assert response.status_code == 200, response.text[:300]

        page()
        result["page_province_ms"] = round(median_ms(page, args.repeat), 1)
    database.dispose()
    result["ratio_province"] = round(
        float(result["ours_province_ms"]) / float(result["hand_tuned_province_ms"]),
        2,  # type: ignore[arg-type]
    )
    result["ratio_district"] = round(
        float(result["ours_district_ms"]) / float(result["hand_tuned_district_ms"]),
        2,  # type: ignore[arg-type]
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
