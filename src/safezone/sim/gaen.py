"""The GAEN layer: Bluetooth sightings scored like a real phone, as a daily engine hook.

Pipeline, every parameter in :class:`GaenParams` with its source:

1. an agent has the app with its commune's adoption (one uniform draw per agent, so a higher
   adoption is a superset of a lower one: common random numbers across scenarios);
2. diagnosis -> verification code (``p_code``) -> upload (``p_upload``) after ``upload_delay``
   days, covering the last 14 days of keys;
3. phones download the keys and match on the next download (``match_delay``): every contact
   between two app users on a key day becomes exposure windows of Bluetooth scans whose
   attenuation follows a log-distance path-loss model with shadowing noise and per-phone
   calibration offsets (:func:`attenuation_db`);
4. the recipient's windows of the last 14 days are scored by :func:`safezone.en.risk.evaluate`
   with the Corona-Warn-App default configuration, the code a phone runs; a HIGH result
   notifies;
5. a notified agent quarantines with probability ``compliance`` after ``quarantine_delay``.

History: contacts are static per layer, so a sighting is drawn only when an uploader's keys
are matched (lazily, for that uploader's 14 key days); a recipient keeps windows for 14 days
only. Nobody else's history is stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from safezone.en.keys import ReportType
from safezone.en.risk import (
    CalibrationConfidence,
    ExposureWindow,
    Infectiousness,
    RiskLevel,
    RiskParameters,
    ScanInstance,
    cwa_default,
    evaluate,
)
from safezone.sim.engine import DayView
from safezone.sim.population import LAYER_KEYS, Population

#: The simulation's day 0 as a calendar date (only differences matter to the risk code).
DAY0 = dt.date(2026, 1, 1)
KEY_DAYS = 14  # days of keys a diagnosed person uploads; phones keep windows as long


@dataclass(frozen=True, slots=True)
class GaenParams:
    """Defaults and their sources (see docs/sim.md for the full list of references)."""

    p_code: float = 0.9  # positive results that come with a code (CWA lab connection)
    p_upload: float = 0.6  # of those, uploaded: ~60 % of CWA users with a positive test shared
    upload_delay: int = 1  # days from diagnosis to upload
    match_delay: int = 1  # phones download once a day
    compliance: float = 0.5  # notified who quarantine (Wymant et al. 2021 assume similar)
    quarantine_delay: int = 0
    quarantine_days: int = 14
    # Log-distance path loss: attenuation = a_1m + 10 n log10(d) + shadowing + offsets.
    # a_1m and n in the range Leith & Farrell (2020) measured for phones; sigma per scan.
    attenuation_1m_db: float = 58.0
    path_loss_exponent: float = 2.0
    shadowing_sigma_db: float = 5.0
    phone_offset_sigma_db: float = 3.0  # calibration error per phone (Google calibration table)
    scan_interval_s: int = 240  # GAEN scans every 3.5-5 minutes
    daily_duration_sigma: float = 0.3  # day-to-day variation of a recurring contact
    daily_distance_sigma: float = 0.2


def attenuation_db(
    distance_m: npt.NDArray[np.float64] | float,
    params: GaenParams,
    offset_db: npt.NDArray[np.float64] | float,
    noise_db: npt.NDArray[np.float64] | float,
) -> npt.NDArray[np.int64]:
    """Bluetooth attenuation (dB, 0-255) at ``distance_m`` with calibration and noise.

    ``attenuation = a_1m + 10 n log10(d / 1 m) + offset + noise``, the log-distance path-loss
    model (Rappaport, *Wireless Communications*, ch. 4) used in EN calibration work.
    """
    d = np.maximum(np.asarray(distance_m, dtype=np.float64), 0.1)
    value = (
        params.attenuation_1m_db
        + 10 * params.path_loss_exponent * np.log10(d)
        + np.asarray(offset_db, dtype=np.float64)
        + np.asarray(noise_db, dtype=np.float64)
    )
    return np.clip(np.rint(value), 0, 255).astype(np.int64)


def infectiousness_for(days_since_onset: int) -> Infectiousness:
    """Infectiousness of a key day by days since symptom onset (test date if none).

    The shape of the ENv2 mapping used by CWA: high around onset, standard in the days
    before and the week after, none otherwise (those windows never reach the app).
    """
    if -2 <= days_since_onset <= 2:
        return Infectiousness.HIGH
    if -5 <= days_since_onset <= 9:
        return Infectiousness.STANDARD
    return Infectiousness.NONE


@dataclass(slots=True)
class _AppGraph:
    """Contacts between two app users, both directions, in CSR form."""

    start: npt.NDArray[np.int64]
    partner: npt.NDArray[np.int32]
    duration: npt.NDArray[np.float32]
    distance: npt.NDArray[np.float32]
    household: npt.NDArray[np.bool_]


def _app_graph(population: Population, app: npt.NDArray[np.bool_]) -> _AppGraph:
    a: list[npt.NDArray[np.int32]] = []
    b: list[npt.NDArray[np.int32]] = []
    dur: list[npt.NDArray[np.float32]] = []
    dist: list[npt.NDArray[np.float32]] = []
    hh: list[npt.NDArray[np.bool_]] = []
    for key in LAYER_KEYS:
        layer = population.layers.get(key)
        if layer is None or len(layer) == 0:
            continue
        keep = app[layer.p1] & app[layer.p2]
        p1, p2 = layer.p1[keep], layer.p2[keep]
        for x, y in ((p1, p2), (p2, p1)):
            a.append(x)
            b.append(y)
            dur.append(layer.duration_min[keep])
            dist.append(layer.distance_m[keep])
            hh.append(np.full(x.size, key == "h"))
    n = population.size
    if not a:
        return _AppGraph(
            np.zeros(n + 1, np.int64),
            np.zeros(0, np.int32),
            np.zeros(0, np.float32),
            np.zeros(0, np.float32),
            np.zeros(0, bool),
        )
    src = np.concatenate(a)
    order = np.argsort(src, kind="stable")
    counts = np.bincount(src, minlength=n)
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return _AppGraph(
        start,
        np.concatenate(b)[order],
        np.concatenate(dur)[order],
        np.concatenate(dist)[order],
        np.concatenate(hh)[order],
    )


@dataclass(slots=True)
class _Upload:
    agent: int
    diagnosed_day: int
    onset_day: int
    match_day: int


@lru_cache(maxsize=1 << 17)
def _scan(minimum: int, typical: int, seconds: int) -> ScanInstance:
    """A scan instance, built (and validated) once per distinct value: they are immutable, and
    a province run makes close to a million of them from a few thousand distinct values."""
    return ScanInstance(minimum, typical, seconds)


@dataclass(slots=True)
class GaenLayer:
    """The daily hook; counters are read back after the run."""

    population: Population
    app: npt.NDArray[np.bool_]
    seed: int
    params: GaenParams = field(default_factory=GaenParams)
    risk: RiskParameters = field(default_factory=cwa_default)
    record: bool = False  # keep every scored recipient's windows (tests only)

    notified_day: npt.NDArray[np.float64] = field(init=False)
    app_quarantined: npt.NDArray[np.bool_] = field(init=False)
    uploads: int = field(init=False, default=0)
    windows_scored: int = field(init=False, default=0)
    log: list[tuple[int, int, RiskLevel, tuple[ExposureWindow, ...]]] = field(
        init=False, default_factory=list
    )
    _graph: _AppGraph = field(init=False)
    _rng: np.random.Generator = field(init=False)
    _u_code: npt.NDArray[np.float64] = field(init=False)
    _u_upload: npt.NDArray[np.float64] = field(init=False)
    _u_comply: npt.NDArray[np.float64] = field(init=False)
    _offset: npt.NDArray[np.float64] = field(init=False)
    _pending: list[_Upload] = field(init=False, default_factory=list)
    _store: dict[int, list[ExposureWindow]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        n = self.population.size
        # Per-agent draws fixed up front: the same agent decides the same way in every
        # scenario of a seed (common random numbers).
        draws = np.random.default_rng([self.seed, 0xE7])
        self._u_code, self._u_upload, self._u_comply = draws.random((3, n))
        self._offset = draws.normal(0.0, self.params.phone_offset_sigma_db, n)
        self._rng = np.random.default_rng([self.seed, 0xE8])
        self.notified_day = np.full(n, np.nan)
        self.app_quarantined = np.zeros(n, bool)
        self._graph = _app_graph(self.population, self.app)

    @property
    def notified(self) -> npt.NDArray[np.bool_]:
        """Per agent: was notified (HIGH risk) at least once."""
        return ~np.isnan(self.notified_day)

    def start(self, view: DayView) -> None:
        """Nothing to do before day 0."""

    def step(self, view: DayView) -> None:
        """Take today's diagnoses, match the uploads due today, notify and quarantine."""
        if not self.app.any():
            return
        t = view.t
        p = self.params
        diagnosed = view.diagnosed_today()
        if diagnosed.size:
            users = diagnosed[self.app[diagnosed]]
            share = users[(self._u_code[users] < p.p_code) & (self._u_upload[users] < p.p_upload)]
            if share.size:
                onset = view.date_symptomatic()[share]
                for agent, sym in zip(share.tolist(), onset.tolist(), strict=True):
                    onset_day = t if np.isnan(sym) else int(sym)
                    self._pending.append(
                        _Upload(agent, t, onset_day, t + p.upload_delay + p.match_delay)
                    )
                    self.uploads += 1
        due = [u for u in self._pending if u.match_day == t]
        if not due:
            return
        self._pending = [u for u in self._pending if u.match_day != t]
        touched: set[int] = set()
        for upload in due:
            touched.update(self._sight(upload))
        self._notify(view, touched)

    def _sight(self, upload: _Upload) -> set[int]:
        """Exposure windows of every app contact of ``upload.agent`` over its key days."""
        g, p, u = self._graph, self.params, upload.agent
        lo, hi = int(g.start[u]), int(g.start[u + 1])
        if lo == hi:
            return set()
        publish_day = upload.match_day - p.match_delay
        touched: set[int] = set()
        for day in range(max(0, publish_day - KEY_DAYS + 1), publish_day + 1):
            infectiousness = infectiousness_for(day - upload.onset_day)
            if infectiousness == Infectiousness.NONE:
                continue
            sel = np.arange(lo, hi)
            if day > upload.diagnosed_day:  # isolating: only the household still meets
                sel = sel[g.household[sel]]
            if sel.size == 0:
                continue
            minutes = g.duration[sel] * self._rng.lognormal(0, p.daily_duration_sigma, sel.size)
            minutes = np.clip(minutes, 1.0, 16 * 60.0)
            meters = g.distance[sel] * self._rng.lognormal(0, p.daily_distance_sigma, sel.size)
            date = DAY0 + dt.timedelta(days=day)
            for k, v in enumerate(g.partner[sel].tolist()):
                windows = self._windows(
                    date,
                    infectiousness,
                    float(minutes[k]),
                    float(meters[k]),
                    self._offset[u] + self._offset[v],
                )
                self._store.setdefault(v, []).extend(windows)
                touched.add(v)
        return touched

    def _windows(
        self,
        date: dt.date,
        infectiousness: Infectiousness,
        minutes: float,
        meters: float,
        offset: float,
    ) -> list[ExposureWindow]:
        """Split a contact into windows of up to 30 minutes of scans."""
        interval = self.params.scan_interval_s
        n_scans = max(1, round(minutes * 60 / interval))
        typical = attenuation_db(
            meters,
            self.params,
            offset,
            self._rng.normal(0.0, self.params.shadowing_sigma_db, n_scans),
        )
        dips = np.abs(self._rng.normal(0.0, 2.0, n_scans))
        minimum = np.clip(np.rint(typical - dips), 0, 255).astype(np.int64)
        per_window = max(1, 30 * 60 // interval)
        scans = [
            _scan(int(m), int(ty), interval)
            for m, ty in zip(minimum.tolist(), typical.tolist(), strict=True)
        ]
        return [
            ExposureWindow(
                date=date,
                report_type=ReportType.CONFIRMED_TEST,
                infectiousness=infectiousness,
                calibration_confidence=CalibrationConfidence.MEDIUM,
                scan_instances=tuple(scans[i : i + per_window]),
            )
            for i in range(0, n_scans, per_window)
        ]

    def _notify(self, view: DayView, touched: set[int]) -> None:
        t = view.t
        today = DAY0 + dt.timedelta(days=t)
        oldest = today - dt.timedelta(days=KEY_DAYS - 1)
        alive = view.alive()
        diagnosed = view.diagnosed()
        newly: list[int] = []
        for v in sorted(touched):
            kept = [w for w in self._store[v] if w.date >= oldest]
            self._store[v] = kept
            self.windows_scored += len(kept)
            result = evaluate(kept, self.risk, today)
            if self.record:
                self.log.append((v, t, result.total_risk_level, tuple(kept)))
            if result.total_risk_level != RiskLevel.HIGH:
                continue
            if np.isnan(self.notified_day[v]):
                self.notified_day[v] = t
            # A phone warns once per exposure; the recipient's windows are used up.
            self._store[v] = []
            if alive[v] and not diagnosed[v] and self._u_comply[v] < self.params.compliance:
                newly.append(v)
        # Drop stores that can no longer matter (nothing within the last 14 days).
        if len(self._store) > 4 * max(len(touched), 1024):
            self._store = {k: w for k, w in self._store.items() if w and w[-1].date >= oldest}
        inds = np.asarray(newly, dtype=np.int64)
        self.app_quarantined[inds] = True
        view.quarantine(inds, t + self.params.quarantine_delay, self.params.quarantine_days)


def assign_app(
    population: Population, adoption_by_commune: npt.NDArray[np.float64], seed: int
) -> npt.NDArray[np.bool_]:
    """Who has the app: one uniform per agent against its commune's adoption share."""
    u = np.random.default_rng([seed, 0xA9]).random(population.size)
    return u < adoption_by_commune[population.commune_index]


def transmissions_between_app_users(
    source: npt.NDArray[np.int64], target: npt.NDArray[np.int64], app: npt.NDArray[np.bool_]
) -> float:
    """Share of transmissions whose source and target both have the app."""
    if source.size == 0:
        return 0.0
    return float(np.mean(app[source] & app[target]))


def per_group(values: npt.NDArray[np.bool_], groups: npt.NDArray[np.int32], n: int) -> list[int]:
    """Count of true ``values`` per group index."""
    return [int(x) for x in np.bincount(groups[values], minlength=n)]
