"""Login throttling (no lockout, no account oracle) and server-side sessions, without HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from safezone.accounts import service, sessions
from safezone.accounts.login import LoginGuard, LoginThrottled, authenticate
from safezone.accounts.models import AuditEvent, User, UserSession
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.keyring import KeyRing
from safezone.ratelimit import CounterStore
from tests.conftest import PASSWORD, MakeUser

RING = KeyRing(b"login-test-secret")
POLICY = sessions.SessionPolicy(idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guard(counter_store: CounterStore, clock: Clock) -> LoginGuard:
    return LoginGuard(
        counter_store,
        RING,
        pair_limit=5,
        pair_window_seconds=900,
        account_limit=20,
        account_window_seconds=3600,
        known_days=30,
        clock=clock,
    )


def _attempt(db: Database, guard: LoginGuard, name: str, password: str, address: str) -> str:
    """The outcome's error code ('ok' on success); the transaction commits either way."""
    with db.session() as session:
        try:
            authenticate(session, guard, name, password, address=address)
        except (service.LoginFailed, LoginThrottled) as error:
            return error.errors[0].code
    return "ok"


def _answer(db: Database, guard: LoginGuard, name: str, password: str, address: str) -> object:
    with db.session() as session:
        try:
            authenticate(session, guard, name, password, address=address)
        except (service.LoginFailed, LoginThrottled) as error:
            return (type(error).__name__, error.status_hint, error.errors)
    return "ok"


def test_unknown_throttled_and_wrong_password_answer_the_same(
    db: Database, make_user: MakeUser, guard: LoginGuard
) -> None:
    """The old lockout answered 423 for existing accounts only: an account oracle."""
    make_user("real.user")
    first = [
        _answer(db, guard, name, "wrong-password!", "10.0.0.9")
        for name in ("ghost.user", "real.user")
    ]
    assert first[0] == first[1]
    assert first[0][0] == "LoginFailed"  # type: ignore[index]
    # Many failures later, an existing and an unknown name are answered alike, the right
    # password included: nothing tells whether the account exists or is being throttled for it.
    for _ in range(6):
        _attempt(db, guard, "ghost.user", "wrong-password!", "10.0.0.9")
        _attempt(db, guard, "real.user", "wrong-password!", "10.0.0.9")
    later = [
        _answer(db, guard, "ghost.user", PASSWORD, "10.0.0.9"),
        _answer(db, guard, "real.user", PASSWORD, "10.0.0.9"),
        _answer(db, guard, "real.user", "wrong-password!", "10.0.0.9"),
    ]
    assert later[0] == later[1] == later[2]
    assert later[0][:2] == ("LoginThrottled", 429)  # type: ignore[index]


def test_failures_from_one_address_do_not_stop_the_user_elsewhere(
    db: Database, make_user: MakeUser, guard: LoginGuard
) -> None:
    make_user("victim")
    codes = [_attempt(db, guard, "victim", "guess-guess-1", "203.0.113.66") for _ in range(8)]
    assert codes == ["invalid_credentials"] * 5 + ["login_throttled"] * 3
    assert _attempt(db, guard, "victim", PASSWORD, "198.51.100.7") == "ok"


def test_attackers_rotating_addresses_never_lock_out_the_users_usual_address(
    db: Database, make_user: MakeUser, guard: LoginGuard, clock: Clock
) -> None:
    make_user("boss")
    assert _attempt(db, guard, "boss", PASSWORD, "198.51.100.7") == "ok"  # the usual address
    clock.now += 3600
    # 25 failures from 25 addresses: past the account budget of 20 per hour.
    codes = [_attempt(db, guard, "boss", f"guess-{n:04d}-x", f"203.0.113.{n}") for n in range(25)]
    assert codes.count("invalid_credentials") == 20
    assert codes[20:] == ["login_throttled"] * 5
    # A new address is refused without trying the password; the usual one gets in.
    assert _attempt(db, guard, "boss", PASSWORD, "192.0.2.1") == "login_throttled"
    assert _attempt(db, guard, "boss", PASSWORD, "198.51.100.7") == "ok"
    # The budget recovers as the window slides.
    clock.now += 2 * 3600
    assert _attempt(db, guard, "boss", PASSWORD, "192.0.2.1") == "ok"


def test_the_user_is_told_of_failed_attempts_once(
    db: Database, make_user: MakeUser, guard: LoginGuard
) -> None:
    make_user("told")
    for _ in range(3):
        _attempt(db, guard, "told", "not-the-password", "203.0.113.5")
    with db.session() as session:
        first = authenticate(session, guard, "told", PASSWORD, address="198.51.100.7")
        assert first.failed_since_last == 3
    with db.session() as session:
        second = authenticate(session, guard, "told", PASSWORD, address="198.51.100.7")
        assert second.failed_since_last == 0
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        login = session.scalars(select(AuditEvent).where(AuditEvent.action == "login")).first()
    assert actions.count("login.failed") == 3
    assert login is not None
    assert login.detail == {"failed_since_last": 3}


def test_counters_hold_no_names_or_addresses(
    db: Database, make_user: MakeUser, guard: LoginGuard, counter_store: CounterStore
) -> None:
    make_user("private.user")
    _attempt(db, guard, "private.user", "not-the-password", "203.0.113.77")
    from safezone.ratelimit import RateCounter, SqlCounterStore

    if isinstance(counter_store, SqlCounterStore):
        with counter_store._engine.connect() as connection:
            keys = list(connection.execute(select(RateCounter.key)).scalars())
        assert keys
        assert not any("private" in key or "203.0.113" in key for key in keys)


def _session_for(db: Database, user_id: int, *, now: dt.datetime = NOW) -> str:
    with db.session() as session:
        return sessions.start(session, session.get_one(User, user_id), POLICY, now=now)


def _who(db: Database, token: str, now: dt.datetime = NOW) -> str | None:
    with db.session() as session:
        user = sessions.user_for(session, token, POLICY, now=now)
        return None if user is None else user.username


def test_sessions_are_stored_hashed_and_end_at_logout(db: Database, make_user: MakeUser) -> None:
    user = make_user("sess.user")
    token = _session_for(db, user.id)
    with db.session() as session:
        row = session.scalars(select(UserSession)).one()
        assert token not in row.token_hash
    assert _who(db, token) == "sess.user"
    with db.session() as session:
        sessions.end(session, token)
    assert _who(db, token) is None


def test_sessions_expire_when_idle_and_at_their_absolute_end(
    db: Database, make_user: MakeUser
) -> None:
    user = make_user("clock.user")
    idle = _session_for(db, user.id)
    assert _who(db, idle, NOW + dt.timedelta(minutes=31)) is None
    busy = _session_for(db, user.id)
    moment = NOW
    for _ in range(20):  # used every 29 minutes: never idle, but 8 hours is the end
        moment += dt.timedelta(minutes=29)
        if moment - NOW >= dt.timedelta(hours=8):
            assert _who(db, busy, moment) is None
            break
        assert _who(db, busy, moment) == "clock.user"
    else:
        pytest.fail("the session never reached its absolute end")


def test_password_change_and_disabling_end_every_session(db: Database, make_user: MakeUser) -> None:
    user = make_user("many.sessions")
    phone, laptop, mine = (_session_for(db, user.id) for _ in range(3))
    with db.session() as session:
        service.set_password(
            session,
            session.get_one(User, user.id),
            "another-long-password",
            actor="many.sessions",
            keep_session=mine,
        )
    assert _who(db, phone) is None
    assert _who(db, laptop) is None
    assert _who(db, mine) == "many.sessions"
    with db.session() as session:
        service.set_active(session, session.get_one(User, user.id), False, actor="admin")
    assert _who(db, mine) is None


def test_the_worker_purges_ended_sessions(
    db: Database, make_user: MakeUser, settings: Settings
) -> None:
    from safezone.accounts.tasks import SESSION_PURGE_JOB
    from safezone.jobs.service import enqueue_periodic, run_one
    from safezone.runtime import build_registry

    user = make_user("purged")
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    _session_for(db, user.id, now=long_ago)
    live = _session_for(db, user.id, now=dt.datetime.now(dt.UTC))
    registry = build_registry(settings)
    assert SESSION_PURGE_JOB in {p.kind for p in registry.periodic}
    # Only this job: the full schedule also writes every unit's report, minutes of PDFs.
    enqueue_periodic(db, registry.restricted_to(SESSION_PURGE_JOB))
    while run_one(db, registry):
        pass
    with db.session() as session:
        assert len(session.scalars(select(UserSession)).all()) == 1
    assert _who(db, live, dt.datetime.now(dt.UTC)) == "purged"
