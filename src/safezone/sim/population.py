"""A synthetic population built from the unit tree: agents, households and contact layers.

Engine-agnostic (numpy only): the engine adapter turns a :class:`Population` into the
engine's own people. Every contact (edge) carries a duration and a distance drawn per layer,
which both set its transmission weight and feed the Bluetooth model of the GAEN layer.

Agents are laid out commune by commune and, inside a commune, household by household, so a
household is a contiguous block of agent indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float32]

#: Layer keys: households, schools, workplaces, community, markets/urban mixing.
LAYER_KEYS: tuple[str, ...] = ("h", "s", "w", "c", "m")


@dataclass(frozen=True, slots=True)
class CommuneSpec:
    """One commune as the unit tree gives it (figures from the census)."""

    code: str
    district_code: str
    population: int
    urban_population: int
    households: int


@dataclass(frozen=True, slots=True)
class LayerSpec:
    """How one contact layer behaves.

    ``duration_min`` and ``distance_m`` are the medians of log-normal draws per contact;
    ``beta`` is the engine's relative transmissibility of the layer (Covasim's hybrid
    defaults: h 3.0, s/w 0.6, c 0.3); ``picks`` is how many partners an agent draws (the
    mean degree is about twice that).
    """

    key: str
    beta: float
    picks: float
    duration_min: float
    duration_sigma: float
    distance_m: float
    distance_sigma: float
    iso_factor: float
    quar_factor: float
    trace_prob: float


#: Defaults; durations and distances are assumptions in the range of contact surveys (POLYMOD,
#: Mossong et al. 2008: household contacts mostly >4 h, community contacts mostly <15 min) and
#: Covasim's hybrid population (layer betas, isolation and quarantine factors).
DEFAULT_LAYERS: dict[str, LayerSpec] = {
    "h": LayerSpec("h", 3.0, 0.0, 180.0, 0.5, 1.0, 0.4, 0.3, 0.6, 0.9),
    "s": LayerSpec("s", 0.6, 6.0, 90.0, 0.5, 1.5, 0.4, 0.1, 0.2, 0.5),
    "w": LayerSpec("w", 0.6, 4.0, 60.0, 0.6, 2.0, 0.4, 0.1, 0.2, 0.3),
    "c": LayerSpec("c", 0.3, 4.0, 15.0, 0.8, 2.5, 0.5, 0.1, 0.2, 0.05),
    "m": LayerSpec("m", 0.3, 1.0, 10.0, 0.8, 2.0, 0.5, 0.1, 0.2, 0.0),
}


@dataclass(frozen=True, slots=True)
class PopulationParams:
    """Structure of the population (school and work ages, commuting, urban mixing)."""

    scale: float = 1.0
    school_enrolment: float = 0.95  # ages 6-17 (GSO: net enrolment above 90 %)
    class_size: int = 30
    employment_rate: float = 0.75  # ages 18-64 not in school (GSO labour force ~75 %)
    workplace_size: int = 15
    commute_share: float = 0.1  # workers whose workplace lies in another district
    urban_market_picks: float = 3.0  # urban residents mix more in markets and streets
    layers: dict[str, LayerSpec] = field(default_factory=lambda: dict(DEFAULT_LAYERS))


@dataclass(slots=True)
class Layer:
    """The contacts of one layer: endpoints, duration, distance and transmission weight."""

    key: str
    p1: IntArray
    p2: IntArray
    duration_min: FloatArray
    distance_m: FloatArray
    weight: FloatArray  # mean 1 over the layer; the engine multiplies it by the layer beta

    def __len__(self) -> int:
        return int(self.p1.size)


@dataclass(slots=True)
class Population:
    """Agents with their commune, district, age, sex, household and contact layers."""

    communes: tuple[CommuneSpec, ...]
    commune_index: IntArray  # per agent: index into ``communes``
    district_index: IntArray  # per agent: index into ``districts``
    districts: tuple[str, ...]
    age: FloatArray
    sex: npt.NDArray[np.int8]
    urban: npt.NDArray[np.bool_]
    household: IntArray
    household_sizes: IntArray
    household_commune: IntArray  # per household: index into ``communes``
    layers: dict[str, Layer]
    params: PopulationParams

    @property
    def size(self) -> int:
        """Number of agents."""
        return int(self.age.size)

    def agents_per_commune(self) -> dict[str, int]:
        """Agents per commune code."""
        counts = np.bincount(self.commune_index, minlength=len(self.communes))
        return {c.code: int(n) for c, n in zip(self.communes, counts, strict=True)}


def scaled(value: int, scale: float) -> int:
    """``value`` x ``scale`` rounded half up (the rule for agents and households)."""
    return int(np.floor(value * scale + 0.5))


def _household_sizes(n: int, households: int, rng: np.random.Generator) -> IntArray:
    """Sizes of ``households`` households holding ``n`` people: 1 + Poisson(mean - 1), fixed
    up so they sum to ``n`` exactly (the census mean size is kept)."""
    households = max(1, min(households, n))
    mean = n / households
    sizes = (1 + rng.poisson(max(mean - 1.0, 0.0), households)).astype(np.int32)
    diff = n - int(sizes.sum())
    while diff != 0:
        if diff > 0:
            np.add.at(sizes, rng.integers(0, households, diff), 1)
        else:
            big = np.flatnonzero(sizes > 1)
            take = rng.choice(big, min(-diff, big.size), replace=False)
            sizes[take] -= 1
        diff = n - int(sizes.sum())
    return sizes


def _sample_ages(
    n: int, brackets: npt.NDArray[np.float64], rng: np.random.Generator, min_age: float = 0
) -> FloatArray:
    """Ages from ``brackets`` rows ``(lo, hi, weight)``, uniform within a bracket."""
    lo, hi, weight = brackets[:, 0], brackets[:, 1], brackets[:, 2].copy()
    weight[hi < min_age] = 0
    which = rng.choice(len(weight), n, p=weight / weight.sum())
    low = np.maximum(lo[which], min_age)
    return (low + rng.random(n) * (hi[which] + 1 - low)).astype(np.float32)


def _clique_edges(starts: IntArray, sizes: IntArray) -> tuple[IntArray, IntArray]:
    """All pairs inside each block ``[start, start + size)`` (households)."""
    p1: list[IntArray] = []
    p2: list[IntArray] = []
    for k in np.unique(sizes):
        if k < 2:
            continue
        i, j = np.triu_indices(int(k), 1)
        block = starts[sizes == k].astype(np.int64)[:, None]
        p1.append((block + i).ravel().astype(np.int32))
        p2.append((block + j).ravel().astype(np.int32))
    if not p1:
        empty = np.zeros(0, np.int32)
        return empty, empty
    return np.concatenate(p1), np.concatenate(p2)


def _random_within_groups(
    members: IntArray,
    groups: npt.NDArray[np.int64],
    picks: npt.NDArray[np.float64],
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray]:
    """Each member draws about ``picks`` partners from its own group (fractional picks are
    rounded at random); groups of one draw nobody."""
    if members.size == 0:
        empty = np.zeros(0, np.int32)
        return empty, empty
    order = np.argsort(groups, kind="stable")
    members, groups, picks = members[order], groups[order], picks[order]
    _, first, counts = np.unique(groups, return_index=True, return_counts=True)
    start = np.repeat(first, counts)
    size = np.repeat(counts, counts)
    whole = np.floor(picks).astype(np.int64)
    n_picks = whole + (rng.random(picks.size) < picks - whole)
    n_picks[size < 2] = 0
    n_picks = np.minimum(n_picks, size - 1)
    pos = np.repeat(np.arange(members.size), n_picks)
    offset = rng.integers(1, np.maximum(size[pos], 2))  # never oneself
    partner = start[pos] + (pos - start[pos] + offset) % size[pos]
    return members[pos].astype(np.int32), members[partner].astype(np.int32)


def _split_groups(
    keys: npt.NDArray[np.int64], size: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Split members sharing a key into groups of about ``size`` (classes, workplaces)."""
    order = np.lexsort((rng.random(keys.size), keys))
    sorted_keys = keys[order]
    _, first, counts = np.unique(sorted_keys, return_index=True, return_counts=True)
    rank = np.arange(keys.size) - np.repeat(first, counts)
    n_groups = np.maximum(1, np.round(counts / size)).astype(np.int64)
    sub = rank % np.repeat(n_groups, counts)
    group = np.empty(keys.size, np.int64)
    group[order] = sorted_keys * 100_000 + sub
    return group


def _layer(spec: LayerSpec, p1: IntArray, p2: IntArray, rng: np.random.Generator) -> Layer:
    n = p1.size
    duration = (spec.duration_min * rng.lognormal(0.0, spec.duration_sigma, n)).astype(np.float32)
    distance = (spec.distance_m * rng.lognormal(0.0, spec.distance_sigma, n)).astype(np.float32)
    distance = np.maximum(distance, np.float32(0.3))
    # Longer and closer contacts transmit more: dose ~ minutes x exp(-distance / 1.5 m)
    # (a simple proximity decay; Ferretti et al. 2020 use the same product form).
    weight = duration * np.exp(-distance / np.float32(1.5))
    mean = float(weight.mean()) if n else 1.0
    weight = (weight / mean).astype(np.float32)
    return Layer(spec.key, p1, p2, duration, distance, weight)


def _school_and_work(
    age: FloatArray,
    commune_index: IntArray,
    district_index: IntArray,
    n_communes: int,
    n_districts: int,
    params: PopulationParams,
    rng: np.random.Generator,
) -> dict[str, Layer]:
    """School classes and workplaces."""
    specs = params.layers
    n_agents = int(age.size)
    agents = np.arange(n_agents, dtype=np.int32)
    out: dict[str, Layer] = {}
    # Schools: primary and lower secondary (6-14) in the commune, upper secondary (15-17) in
    # the district; classes by single year of age.
    school_age = (age >= 6) & (age < 18) & (rng.random(n_agents) < params.school_enrolment)
    students = agents[school_age]
    year = np.floor(age[students]).astype(np.int64)
    local = commune_index[students].astype(np.int64) * 100 + year
    _, inverse, cohort = np.unique(local, return_inverse=True, return_counts=True)
    # A cohort too small for a class (a scaled-down run) goes to the district's school.
    in_commune = (year < 15) & (cohort[inverse] >= params.class_size // 2)
    area = np.where(
        in_commune,
        commune_index[students].astype(np.int64),
        n_communes + district_index[students].astype(np.int64),
    )
    classes = _split_groups(area * 100 + year, params.class_size, rng)
    s_picks = np.full(students.size, specs["s"].picks)
    s1, s2 = _random_within_groups(students, classes, s_picks, rng)
    out["s"] = _layer(specs["s"], s1, s2, rng)

    # Workplaces: in the home district, some commuting to another district (weighted by size).
    working = (
        (age >= 18) & (age < 65) & ~school_age & (rng.random(n_agents) < params.employment_rate)
    )
    workers = agents[working]
    work_district = district_index[workers].astype(np.int64)
    if n_districts > 1:
        commuters = rng.random(workers.size) < params.commute_share
        weights = np.bincount(district_index, minlength=n_districts).astype(np.float64)
        work_district[commuters] = rng.choice(
            n_districts, int(commuters.sum()), p=weights / weights.sum()
        )
    places = _split_groups(work_district, params.workplace_size, rng)
    w1, w2 = _random_within_groups(workers, places, np.full(workers.size, specs["w"].picks), rng)
    out["w"] = _layer(specs["w"], w1, w2, rng)

    return out


def build_population(
    communes: Sequence[CommuneSpec],
    age_brackets: npt.NDArray[np.float64],
    seed: int,
    params: PopulationParams | None = None,
) -> Population:
    """Build the population of ``communes`` at ``params.scale``.

    ``age_brackets``: rows ``(lo, hi, weight)``, e.g. the engine's Vietnam age structure.
    Agents per commune = population x scale; households per commune = households x scale
    (at least one when the commune has agents), sized around the census mean.
    """
    params = params or PopulationParams()
    rng = np.random.default_rng([seed, 0x5A])
    communes = tuple(communes)
    districts = tuple(dict.fromkeys(c.district_code for c in communes))
    district_of = {code: i for i, code in enumerate(districts)}

    sizes_list: list[IntArray] = []
    hh_commune: list[IntArray] = []
    commune_idx: list[IntArray] = []
    urban_list: list[npt.NDArray[np.bool_]] = []
    for ci, commune in enumerate(communes):
        n = scaled(commune.population, params.scale)
        if n == 0:
            continue
        sizes = _household_sizes(n, max(1, scaled(commune.households, params.scale)), rng)
        sizes_list.append(sizes)
        hh_commune.append(np.full(sizes.size, ci, np.int32))
        commune_idx.append(np.full(n, ci, np.int32))
        urban_share = commune.urban_population / commune.population if commune.population else 0
        urban_list.append(rng.random(n) < urban_share)
    hh_sizes = np.concatenate(sizes_list) if sizes_list else np.zeros(0, np.int32)
    commune_index = np.concatenate(commune_idx) if commune_idx else np.zeros(0, np.int32)
    urban = np.concatenate(urban_list) if urban_list else np.zeros(0, bool)
    n_agents = int(commune_index.size)
    household = np.repeat(np.arange(hh_sizes.size, dtype=np.int32), hh_sizes)
    hh_start = (np.cumsum(hh_sizes) - hh_sizes).astype(np.int32)

    district_index = (
        np.array([district_of[c.district_code] for c in communes], np.int32)[commune_index]
        if n_agents
        else np.zeros(0, np.int32)
    )

    # Ages: the first member of a household is an adult (20+), the rest follow the pyramid.
    age = _sample_ages(n_agents, age_brackets, rng)
    age[hh_start] = _sample_ages(hh_start.size, age_brackets, rng, min_age=20)
    sex = rng.integers(0, 2, n_agents).astype(np.int8)

    layers: dict[str, Layer] = {}
    specs = params.layers
    h1, h2 = _clique_edges(hh_start, hh_sizes)
    layers["h"] = _layer(specs["h"], h1, h2, rng)

    agents = np.arange(n_agents, dtype=np.int32)
    layers.update(
        _school_and_work(
            age, commune_index, district_index, len(communes), len(districts), params, rng
        )
    )

    # Community: anyone in the same commune.
    c1, c2 = _random_within_groups(
        agents, commune_index.astype(np.int64), np.full(n_agents, specs["c"].picks), rng
    )
    layers["c"] = _layer(specs["c"], c1, c2, rng)

    # Markets and streets: within the district, heavier for urban residents.
    m_picks = np.where(urban, params.urban_market_picks, specs["m"].picks)
    m1, m2 = _random_within_groups(agents, district_index.astype(np.int64), m_picks, rng)
    layers["m"] = _layer(specs["m"], m1, m2, rng)

    return Population(
        communes=communes,
        commune_index=commune_index,
        district_index=district_index,
        districts=districts,
        age=age,
        sex=sex,
        urban=urban,
        household=household,
        household_sizes=hh_sizes,
        household_commune=np.concatenate(hh_commune) if hh_commune else np.zeros(0, np.int32),
        layers=layers,
        params=params,
    )
