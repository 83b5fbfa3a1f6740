"""Where does one more volunteer-day save the most infections? Greedy marginal allocation.

The budget (volunteer-days, reminder sends) is cut into equal chunks. At each step every
district is tried with one more chunk; the evaluator (simulated infections averted, or any
function in tests) scores all candidates in one batch, and the chunk goes where it averts the
most. Installs follow the yields observed in the field: ``installs = volunteer_days x
installs_per_volunteer_day + reminders x installs_per_reminder``, capped at ``max_adoption``.
The naive plan, effort proportional to population, is scored by the same evaluator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from safezone.sim.population import CommuneSpec

#: Adoption tables -> expected infections averted for each (the same seeds for all).
Evaluator = Callable[[Sequence[Mapping[str, float]]], list[float]]
RESOURCES = ("volunteer_days", "reminders")


@dataclass(frozen=True, slots=True)
class Yield:
    """Installs per unit of effort in one district (from campaign field data or a table)."""

    installs_per_volunteer_day: float = 20.0
    installs_per_reminder: float = 0.02


@dataclass(slots=True)
class Allocation:
    """Effort per district code."""

    volunteer_days: dict[str, float] = field(default_factory=dict)
    reminders: dict[str, float] = field(default_factory=dict)

    def copy(self) -> Allocation:
        """An independent copy."""
        return Allocation(dict(self.volunteer_days), dict(self.reminders))

    def add(self, resource: str, district: str, amount: float) -> Allocation:
        """A copy with ``amount`` more of ``resource`` in ``district``."""
        new = self.copy()
        target = new.volunteer_days if resource == "volunteer_days" else new.reminders
        target[district] = target.get(district, 0.0) + amount
        return new


@dataclass(slots=True)
class PlanRow:
    """One district in the ranked table."""

    district_code: str
    volunteer_days: float
    reminders: float
    adoption_before: float
    adoption_after: float
    averted_per_volunteer_day: float  # marginal, at the final plan
    averted_per_1000_reminders: float


@dataclass(slots=True)
class Plan:
    """The greedy plan against the proportional one."""

    rows: list[PlanRow]
    averted_greedy: float
    averted_proportional: float
    adoption_greedy: dict[str, float]
    adoption_proportional: dict[str, float]
    steps: list[tuple[str, str, float]]  # (resource, district, gain) in the order chosen


class Planner:
    """Plan effort over the districts of ``communes``."""

    def __init__(
        self,
        communes: Sequence[CommuneSpec],
        current: Mapping[str, float],
        yields: Mapping[str, Yield] | None = None,
        max_adoption: float = 0.9,
    ) -> None:
        self.communes = tuple(communes)
        self.current = dict(current)
        self.yields = dict(yields or {})
        self.max_adoption = max_adoption
        self.districts = list(dict.fromkeys(c.district_code for c in self.communes))
        self.population = dict.fromkeys(self.districts, 0)
        for c in self.communes:
            self.population[c.district_code] += c.population

    def _yield(self, district: str) -> Yield:
        return self.yields.get(district, Yield())

    def _base(self, commune: CommuneSpec) -> float:
        return float(self.current.get(commune.code, self.current.get(commune.district_code, 0.0)))

    def adoption(self, allocation: Allocation) -> dict[str, float]:
        """Per-commune adoption after ``allocation`` (installs spread over the district)."""
        gain: dict[str, float] = {}
        for d in self.districts:
            y = self._yield(d)
            installs = (
                allocation.volunteer_days.get(d, 0.0) * y.installs_per_volunteer_day
                + allocation.reminders.get(d, 0.0) * y.installs_per_reminder
            )
            gain[d] = installs / self.population[d] if self.population[d] else 0.0
        return {
            c.code: min(
                self.max_adoption, max(self._base(c), self._base(c) + gain[c.district_code])
            )
            for c in self.communes
        }

    def district_adoption(self, table: Mapping[str, float]) -> dict[str, float]:
        """Population-weighted adoption per district of a per-commune table."""
        out: dict[str, float] = {}
        for d in self.districts:
            members = [c for c in self.communes if c.district_code == d]
            pop = sum(c.population for c in members)
            out[d] = sum(table[c.code] * c.population for c in members) / pop if pop else 0.0
        return out

    def proportional(self, volunteer_days: float, reminders: float) -> Allocation:
        """Effort proportional to population: the naive plan."""
        total = sum(self.population.values()) or 1
        return Allocation(
            {d: volunteer_days * p / total for d, p in self.population.items()},
            {d: reminders * p / total for d, p in self.population.items()},
        )

    def plan(
        self,
        volunteer_days: float,
        reminders: float,
        evaluate: Evaluator,
        steps: int = 8,
        on_step: Callable[[int, int], None] | None = None,
    ) -> Plan:
        """Greedy allocation in ``steps`` chunks per resource, then the ranked table."""
        allocation = Allocation()
        chunks = [
            (r, amount / steps)
            for r, amount in (("volunteer_days", volunteer_days), ("reminders", reminders))
            if amount > 0
        ]
        chosen: list[tuple[str, str, float]] = []
        total_steps = steps * len(chunks)
        done = 0
        current_value = evaluate([self.adoption(allocation)])[0]
        for _ in range(steps):
            for resource, chunk in chunks:
                candidates = [allocation.add(resource, d, chunk) for d in self.districts]
                values = evaluate([self.adoption(a) for a in candidates])
                best = max(range(len(values)), key=lambda i: (values[i], -i))
                chosen.append((resource, self.districts[best], values[best] - current_value))
                allocation, current_value = candidates[best], values[best]
                done += 1
                if on_step:
                    on_step(done, total_steps)

        # Marginal value of one more chunk per district at the final plan, and the naive plan.
        naive = self.proportional(volunteer_days, reminders)
        probes: list[Allocation] = [allocation, naive]
        vd_chunk = volunteer_days / steps if volunteer_days > 0 else 1.0
        rem_chunk = reminders / steps if reminders > 0 else 1000.0
        probes += [allocation.add("volunteer_days", d, vd_chunk) for d in self.districts]
        probes += [allocation.add("reminders", d, rem_chunk) for d in self.districts]
        values = evaluate([self.adoption(a) for a in probes])
        final, naive_value = values[0], values[1]
        n = len(self.districts)
        before = self.district_adoption(self.adoption(Allocation()))
        after = self.district_adoption(self.adoption(allocation))
        rows = [
            PlanRow(
                district_code=d,
                volunteer_days=allocation.volunteer_days.get(d, 0.0),
                reminders=allocation.reminders.get(d, 0.0),
                adoption_before=before[d],
                adoption_after=after[d],
                averted_per_volunteer_day=(values[2 + i] - final) / vd_chunk,
                averted_per_1000_reminders=(values[2 + n + i] - final) / rem_chunk * 1000,
            )
            for i, d in enumerate(self.districts)
        ]
        rows.sort(key=lambda r: r.averted_per_volunteer_day, reverse=True)
        return Plan(
            rows=rows,
            averted_greedy=final,
            averted_proportional=naive_value,
            adoption_greedy=self.adoption(allocation),
            adoption_proportional=self.adoption(naive),
            steps=chosen,
        )
