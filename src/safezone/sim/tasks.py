"""Simulations as worker jobs: validate a request, store a queued run, run it in the worker.

The web page and the JSON API only call :func:`start`, which checks the request, resolves its
inputs (adoption, yields) so the stored parameters reproduce the run, writes a queued
``sim_runs`` row and enqueues one job in the same transaction. The worker's handler runs the
sweep or the plan, writes ``progress`` as seeds and candidate batches finish (each in its own
short transaction, so readers see it move) and stores the outputs.

A run never stays "running" for ever:

- an exception inside the simulation marks the run failed with its reason (the job is done);
- a worker killed mid-run leaves its job leased; a heartbeat thread extends the lease only while
  the process lives, so the job is claimed again after the lease expires and the run restarts
  from scratch (runs are deterministic for their seeds); after ``MAX_ATTEMPTS`` starts the run
  is marked failed instead;
- a periodic sweep (:func:`recover`) fails queued or running rows whose job is gone, failed or
  done.

No HTTP here: this module is part of the web-free simulator core.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safezone.db.base import utcnow
from safezone.errors import FieldError, InvalidInput, SafezoneError
from safezone.jobs.models import Job
from safezone.jobs.service import LEASE, Registry, enqueue
from safezone.sim import service
from safezone.sim.models import SimRun

log = structlog.get_logger(__name__)

RUN_JOB = "sim.run"
RECOVER_JOB = "sim.recover"
#: A run whose worker died this many times is failed rather than started again (an
#: out-of-memory kill would repeat for ever).
MAX_ATTEMPTS = 3
HEARTBEAT_SECONDS = 60.0

#: Limits of requests from the page and the API (the CLI has its own, wider ones).
MAX_DAYS = 365
MAX_SEEDS = 50
MIN_SCALE = 0.0005
MAX_VOLUNTEER_DAYS = 1_000_000.0
MAX_REMINDERS = 100_000_000.0
MAX_STEPS = 20


class SimulatorMissing(SafezoneError):
    """The ``sim`` extra (Covasim) is not installed where the app runs."""

    status_hint = 503

    def __init__(self) -> None:
        super().__init__(
            FieldError(
                None,
                "simulator_not_installed",
                "Chưa cài bộ mô phỏng (Covasim) trên máy chủ: cài gói safezone[sim] rồi khởi "
                "động lại.",
                "The simulator (Covasim) is not installed on the server: install "
                "safezone[sim] and restart.",
            )
        )


def engine_available() -> bool:
    """Whether Covasim can be imported (checked without importing it: the import is slow)."""
    return importlib.util.find_spec("covasim") is not None


def dedupe_key(run_id: int) -> str:
    """The job key of run ``run_id`` (the handler finds its own job by it)."""
    return f"{RUN_JOB}:{run_id}"


# --- requests ---------------------------------------------------------------------------------


def _error(field: str, code: str, vi: str, en: str) -> FieldError:
    return FieldError(field, code, vi, en)


def _number(
    data: Mapping[str, Any],
    field: str,
    default: float,
    low: float,
    high: float,
    errors: list[FieldError],
    *,
    integer: bool = False,
    label: tuple[str, str],
) -> float:
    raw = data.get(field)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
        if integer and value != int(value):
            raise ValueError
    except (TypeError, ValueError):
        kind_vi, kind_en = ("số nguyên", "a whole number") if integer else ("số", "a number")
        errors.append(
            _error(
                field,
                "not_a_number",
                f"{label[0]}: phải là {kind_vi}.",
                f"{label[1]}: must be {kind_en}.",
            )
        )
        return default
    if not low <= value <= high:
        errors.append(
            _error(
                field,
                "out_of_range",
                f"{label[0]}: phải từ {low:g} đến {high:g}.",
                f"{label[1]}: must be from {low:g} to {high:g}.",
            )
        )
        return default
    return value


def check_request(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validated parameters of a run (``kind`` "run") or plan request; every problem at once.

    Fields: ``adoption`` ("campaign" or "csv"), ``adoption_csv`` (with "csv"), ``app_code``
    (with "campaign"), ``days``, ``seeds``, ``scale``; plans add ``volunteer_days``,
    ``reminders``, ``steps``, ``confirm_scale`` and ``yields`` ("campaign" or "default").
    """
    errors: list[FieldError] = []
    adoption = str(data.get("adoption") or "campaign")
    if adoption not in ("campaign", "csv"):
        errors.append(
            _error(
                "adoption",
                "invalid_choice",
                "Nguồn độ phủ: chọn 'campaign' (chiến dịch) hoặc 'csv'.",
                "Adoption: choose 'campaign' or 'csv'.",
            )
        )
    csv_text = str(data.get("adoption_csv") or "")
    if adoption == "csv" and not csv_text.strip():
        errors.append(
            _error(
                "adoption_csv",
                "required",
                "Tệp độ phủ: cần một tệp CSV với cột unit_code,adoption.",
                "Adoption file: a CSV with columns unit_code,adoption is required.",
            )
        )
    app_code = str(data.get("app_code") or "").strip()
    if not app_code.isprintable():  # a NUL byte is refused by PostgreSQL as a parameter
        errors.append(
            _error(
                "app_code",
                "invalid",
                "Ứng dụng: mã không hợp lệ.",
                "App: the code is not valid.",
            )
        )
        app_code = ""
    elif adoption == "campaign" and not app_code:
        errors.append(
            _error(
                "app_code",
                "required",
                "Ứng dụng: chọn ứng dụng của chiến dịch.",
                "App: choose the campaign's app.",
            )
        )
    params: dict[str, Any] = {
        "adoption_source": adoption,
        "app_code": app_code[:16],
        "days": int(_number(data, "days", 60, 1, MAX_DAYS, errors, integer=True,
                            label=("Số ngày", "Days"))),
        "seeds": int(_number(data, "seeds", 4, 1, MAX_SEEDS, errors, integer=True,
                             label=("Số lần chạy (seed)", "Seeds"))),
        "scale": _number(data, "scale", 0.02, MIN_SCALE, 1.0, errors,
                         label=("Tỷ lệ dân số mô phỏng", "Scale")),
    }  # fmt: skip
    if kind == "plan":
        params["volunteer_days"] = _number(
            data, "volunteer_days", 0, 0, MAX_VOLUNTEER_DAYS, errors,
            label=("Ngân sách ngày tình nguyện viên", "Budget of volunteer-days"),
        )  # fmt: skip
        params["reminders"] = _number(
            data, "reminders", 0, 0, MAX_REMINDERS, errors,
            label=("Số tin nhắc", "Reminders"),
        )  # fmt: skip
        params["steps"] = int(_number(data, "steps", 4, 1, MAX_STEPS, errors, integer=True,
                                      label=("Số bước", "Steps")))  # fmt: skip
        params["confirm_scale"] = _number(
            data, "confirm_scale", params["scale"], MIN_SCALE, 1.0, errors,
            label=("Tỷ lệ khi xác nhận", "Confirmation scale"),
        )  # fmt: skip
        yields = str(data.get("yields") or "campaign")
        if yields not in ("campaign", "default"):
            errors.append(
                _error(
                    "yields",
                    "invalid_choice",
                    "Năng suất: chọn 'campaign' hoặc 'default'.",
                    "Yields: choose 'campaign' or 'default'.",
                )
            )
        params["yields_source"] = yields
        if not errors and params["volunteer_days"] <= 0 and params["reminders"] <= 0:
            errors.append(
                _error(
                    "volunteer_days",
                    "empty_budget",
                    "Ngân sách: cần số ngày tình nguyện viên hoặc số tin nhắc lớn hơn 0.",
                    "Budget: volunteer-days or reminders must be more than 0.",
                )
            )
    elif kind != "run":
        errors.append(_error("kind", "invalid_choice", "Loại: 'run' hoặc 'plan'.",
                             "Kind: 'run' or 'plan'."))  # fmt: skip
    if errors:
        raise InvalidInput(*errors)
    params["adoption_csv"] = csv_text if adoption == "csv" else ""
    return params


def _prefixed(error: InvalidInput, prefix: str) -> InvalidInput:
    return InvalidInput(
        *(
            FieldError(
                f"{prefix}.{e.field}" if e.field else prefix, e.code, e.message_vi, e.message_en
            )
            for e in error.errors
        )
    )


def start(
    session: Session,
    kind: str,
    data: Mapping[str, Any],
    *,
    root_code: str,
    created_by: str | None,
) -> SimRun:
    """Check the request, store a queued run with its resolved inputs and enqueue its job.

    ``root_code`` is the unit whose communes are simulated (the caller checks it is in scope).
    Raises :class:`SimulatorMissing` when Covasim is not installed, InvalidInput on bad input.
    """
    if not engine_available():
        raise SimulatorMissing
    params = check_request(kind, data)
    communes = service.communes_from_tree(session, root_code)
    codes = [c.code for c in communes] + sorted({c.district_code for c in communes})
    if params["adoption_source"] == "csv":
        try:
            table = service.read_adoption_csv(params["adoption_csv"], codes)
        except InvalidInput as error:
            raise _prefixed(error, "adoption_csv") from error
    else:
        table = service.adoption_from_campaign(session, params["app_code"])
    wanted = set(codes)
    params["adoption"] = {k: v for k, v in table.items() if k in wanted}
    params["root_code"] = root_code
    if kind == "plan":
        yields, sources = service.resolve_yields(
            session, params["yields_source"], sorted({c.district_code for c in communes})
        )
        params["yields"] = yields
        params["yield_sources"] = sources
    del params["adoption_csv"]  # the parsed table is what reproduces the run
    label = (
        f"plan {params['volunteer_days']:g} volunteer-days, {params['reminders']:g} reminders"
        if kind == "plan"
        else f"run {params['adoption_source']}, {params['days']} days"
    )
    seeds = list(range(1, params["seeds"] + 1))
    run = service.create_run(
        session,
        kind=kind,
        params=params,
        seeds=seeds,
        label=label,
        created_by=created_by,
        root_code=root_code,
    )
    enqueue(session, RUN_JOB, {"run_id": run.id}, dedupe_key=dedupe_key(run.id))
    return run


# --- the worker side --------------------------------------------------------------------------


class _Heartbeat:
    """Extends the job's lease while this process lives; stops with the run."""

    def __init__(self, factory: sessionmaker[Session], key: str, every: float) -> None:
        self.factory, self.key, self.every = factory, key, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="sim-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self.stop.wait(self.every):
            try:
                with self.factory() as session:
                    job = session.scalar(select(Job).where(Job.dedupe_key == self.key))
                    if job is not None:
                        job.locked_until = utcnow() + LEASE
                    session.commit()
            except Exception as error:  # noqa: BLE001 - a missed beat is retried next time
                log.warning("sim.heartbeat_failed", error=type(error).__name__)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def store_progress(factory: sessionmaker[Session], run_id: int, fraction: float) -> None:
    """Write a running run's progress (0-1) in its own transaction, so pages see it move."""
    with factory() as session:
        run = session.get(SimRun, run_id)
        if run is not None and run.status == "running":
            run.progress = round(min(1.0, max(0.0, fraction)), 4)
        session.commit()


def _compute(
    session: Session,
    run: SimRun,
    progress: Callable[[int, int], None],
    workers: int,
) -> dict[str, Any]:
    from safezone.sim import engine
    from safezone.sim.plan_run import run_plan, yields_from_json
    from safezone.sim.scenario import Scenario, run_seeds, summarise

    params, kind, seeds = dict(run.params), run.kind, list(run.seeds)
    communes = service.communes_from_tree(session, params.get("root_code"))
    codes = [c.code for c in communes] + sorted({c.district_code for c in communes})
    names = service.unit_names(session, codes)
    # No transaction stays open during the long computation (on SQLite it would hold the write
    # lock, and the progress writes would wait for it); ``run`` is not touched after this.
    session.rollback()
    table: dict[str, float] = dict(params.get("adoption") or {})
    if kind == "run":
        scenario = Scenario(tuple(communes), days=int(params["days"]), scale=float(params["scale"]))
        results = run_seeds(scenario, seeds, [table], workers=workers, progress=progress)
        outputs = summarise(scenario, results, 0, names)
        outputs["engine"] = outputs.get("engine") or engine.ENGINE_NAME
        outputs["scenario"] = scenario.to_json()  # the communes' figures: reproducible as run
        return outputs
    result = run_plan(
        communes,
        table,
        yields_from_json(params.get("yields") or {}),
        float(params["volunteer_days"]),
        float(params["reminders"]),
        days=int(params["days"]),
        seeds=len(seeds),
        scale=float(params["scale"]),
        confirm_scale=float(params["confirm_scale"]),
        steps=int(params["steps"]),
        workers=workers,
        progress=progress,
        names=names,
    )
    result["yield_sources"] = params.get("yield_sources") or {}
    return result


def execute(session: Session, run_id: int, *, workers: int = 1, heartbeat: float = 0) -> None:
    """Run stored run ``run_id`` (the job handler's body); never leaves it "running" on error.

    ``session`` is the worker's; its bind is used for the short transactions that write
    progress, so nothing is held open while the engine runs.
    """
    factory = sessionmaker(bind=session.get_bind(), expire_on_commit=False)
    key = dedupe_key(run_id)
    with factory() as own:
        run = own.get(SimRun, run_id)
        if run is None or run.status in ("done", "failed"):
            return  # deleted, or a retried job of a finished run: nothing to do
        job = own.scalar(select(Job).where(Job.dedupe_key == key))
        attempts = job.attempts if job is not None else 1
        if attempts > MAX_ATTEMPTS:
            service.fail_run(
                own,
                run,
                f"the worker stopped {attempts - 1} times during this run (killed, restarted "
                f"or out of memory); not started again / tiến trình worker đã dừng "
                f"{attempts - 1} lần giữa chừng; không chạy lại nữa",
            )
            own.commit()
            return
        run.status = "running"
        run.progress = 0.0
        run.error = None if attempts <= 1 else f"restarted (attempt {attempts})"
        own.commit()

    def progress(done: int, total: int) -> None:
        store_progress(factory, run_id, done / total if total else 0.0)

    beat = heartbeat or HEARTBEAT_SECONDS
    try:
        with _Heartbeat(factory, key, beat), factory() as own:
            run = own.get_one(SimRun, run_id)
            outputs = _compute(own, run, progress, workers)
            from safezone.sim import engine

            version = engine.engine_version()
            run = own.get_one(SimRun, run_id)
            service.finish_run(own, run, outputs, version)
            run.error = None
            own.commit()
        log.info("sim.run_done", run_id=run_id)
    except Exception as error:  # noqa: BLE001 - the run records why; the job itself is done
        with factory() as own:
            run = own.get_one(SimRun, run_id)
            service.fail_run(own, run, _reason(error))
            own.commit()
        log.warning("sim.run_failed", run_id=run_id, error=type(error).__name__)


def _reason(error: Exception) -> str:
    if isinstance(error, SafezoneError):
        return "; ".join(f"{e.message_vi} / {e.message_en}" for e in error.errors)
    return f"{type(error).__name__}: {error}"


def recover(session: Session) -> int:
    """Fail queued or running runs whose job is gone, failed or done; how many were failed."""
    failed = 0
    for run in session.scalars(select(SimRun).where(SimRun.status.in_(("queued", "running")))):
        job = session.scalar(select(Job).where(Job.dedupe_key == dedupe_key(run.id)))
        if job is None:
            reason = "its job is missing / không còn công việc (job) của lượt này"
        elif job.failed_at is not None:
            reason = f"its job failed: {job.last_error or '?'} / công việc (job) bị lỗi"
        elif job.done_at is not None:
            reason = "its job ended without a result / công việc (job) kết thúc mà không có kết quả"
        else:
            continue
        service.fail_run(session, run, reason)
        failed += 1
    return failed


def register(registry: Registry, settings: object, *, workers: int | None = None) -> None:
    """Add the simulation job and the hourly recovery sweep to the worker's registry."""
    del settings
    count = workers or max(1, (os.cpu_count() or 1))

    @registry.handler(RUN_JOB)
    def run_job(session: Session, payload: dict[str, Any]) -> None:
        execute(session, int(payload["run_id"]), workers=count)

    @registry.handler(RECOVER_JOB)
    def recover_job(session: Session, payload: dict[str, Any]) -> None:
        del payload
        log.info("sim.recovered", failed=recover(session))

    registry.every(RECOVER_JOB, dt.timedelta(minutes=10))
