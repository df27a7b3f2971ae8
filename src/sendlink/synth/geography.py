"""Local authorities, postcodes and schools of the synthetic world.

Postcodes follow the UK format (area, district, sector, unit: ``QB12 3DF``)
but every area starts with ``Q``, which no real postcode area does, so no
synthetic address can coincide with a real one. Local authority codes and
names are invented too. School URNs are six-digit numbers, unique.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

REGIONS = (
    "North East",
    "North West",
    "Yorkshire and the Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "South East",
    "South West",
)

_LA_NAMES = (
    "Ashby Vale Barrowmere Castlebrook Denholm Eastwick Fernley Greystone Harrowfield "
    "Ivybridge Kingsmere Larkhill Millbrook Northmoor Oakhurst Pennfield Queensgate "
    "Ravensworth Saltmarsh Thornbury Upperton Westholme Yarrowby Ambleside Brackenfold "
    "Coldharbour Dunmere Elmstead Foxley Glenholm Hartmoor Ironbridge Juniper Kettlewick"
).split()

# Letters allowed in the last two characters of a UK postcode (inward unit).
_UNIT_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
_STREETS = (
    "Church Mill Station Park Victoria Queen King Albert Manor Chapel School Green Grange Oak "
    "Elm Ash Willow Cedar Meadow Orchard Brook River Hill Windsor York Beech Hawthorn Rowan"
).split()
_STREET_TYPES = ("Road", "Street", "Lane", "Avenue", "Close", "Drive", "Way", "Crescent", "Gardens", "Grove")


@dataclass(frozen=True)
class LocalAuthorities:
    """The local authorities: code, name, region, size weight, diversity, postcode area."""

    table: pd.DataFrame

    @property
    def n(self) -> int:
        return len(self.table)


def make_local_authorities(n: int, rng: np.random.Generator) -> LocalAuthorities:
    """Invent ``n`` local authorities of unequal size and ethnic diversity.

    Assumptions: sizes are log-normal (large urban LAs are several times the
    size of small ones); one in five LAs is a London-like borough whose
    minority-ethnic share is about twice the national average.
    """
    if n > 199:
        raise ValueError(f"at most 199 local authorities (three-digit codes 801-999), got {n}")
    if n > len(_LA_NAMES):
        names = [f"{_LA_NAMES[i % len(_LA_NAMES)]} {i // len(_LA_NAMES) + 1}" for i in range(n)]
    else:
        names = list(_LA_NAMES[:n])
    size = rng.lognormal(mean=0.0, sigma=0.5, size=n)
    urban = rng.random(n) < 0.2
    diversity = np.where(urban, rng.uniform(1.8, 2.6, n), rng.uniform(0.4, 1.1, n))
    # Scale so the pupil-weighted average is 1: national shares are kept.
    diversity = diversity / (diversity @ (size / size.sum()))
    region = np.where(urban, REGIONS.index("London"), rng.integers(0, len(REGIONS), n))
    deprivation = rng.normal(0.0, 0.25, n)
    # UK postcode areas have one or two letters; with more than 26 LAs,
    # neighbouring LAs share an area (as real ones do).
    areas = [f"Q{chr(ord('A') + i % 26)}" for i in range(n)]
    table = pd.DataFrame(
        {
            # Three digits, as DfE's LA codes; the 8xx range keeps them apart
            # from the real ones a reader may know (an invented world).
            "la_code": [f"{801 + i}" for i in range(n)],
            "la_name": names,
            "region": [REGIONS[r] for r in region],
            "size_weight": size / size.sum(),
            "diversity": diversity,
            "mean_deprivation": deprivation,
            "postcode_area": areas,
        }
    )
    return LocalAuthorities(table)


def random_postcodes(area: np.ndarray, rng: np.random.Generator, district: np.ndarray | None = None) -> np.ndarray:
    """Draw postcodes in the given areas (optionally keeping a district).

    Districts run 1-29 and sectors 0-9; units are two letters. Assumption:
    uniform within an area, which is enough for linkage (collisions of whole
    postcodes between unrelated households are rare, as in reality).
    """
    n = len(area)
    if district is None:
        district = rng.integers(1, 30, n)
    sector = rng.integers(0, 10, n)
    units = _UNIT_LETTERS[rng.integers(0, len(_UNIT_LETTERS), (n, 2))]
    text = np.char.add(np.asarray(area).astype(str), np.asarray(district).astype(str))
    text = np.char.add(np.char.add(text, " "), sector.astype(str))
    text = np.char.add(np.char.add(text, units[:, 0]), units[:, 1])
    return text.astype(object)


def random_addresses(n: int, rng: np.random.Generator) -> np.ndarray:
    """House number and street, e.g. ``"14 Willow Close"``."""
    number = rng.integers(1, 180, n)
    street = rng.integers(0, len(_STREETS), n)
    kind = rng.integers(0, len(_STREET_TYPES), n)
    return np.array([f"{number[i]} {_STREETS[street[i]]} {_STREET_TYPES[kind[i]]}" for i in range(n)], dtype=object)


def make_schools(
    las: LocalAuthorities,
    pupils_per_year_group: int,
    pupils_per_primary: int,
    pupils_per_secondary: int,
    ehc_share: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Invent the schools of each LA: primary, secondary, special, alternative provision.

    Returns one row per school: ``school_urn, la_code, phase, school_type``.
    ``phase`` is primary / secondary / special / alternative_provision;
    ``school_type`` is academy or maintained (about 80% of secondaries and
    40% of primaries are academies; an assumption near the published mix).
    """
    rows = []
    for la in las.table.itertuples(index=False):
        per_year = pupils_per_year_group * la.size_weight
        n_primary = max(1, int(round(per_year / pupils_per_primary)))
        n_secondary = max(1, int(round(per_year / pupils_per_secondary)))
        n_special = max(1, int(round(per_year * ehc_share / 12)))
        for phase, count, academy in (
            ("primary", n_primary, 0.4),
            ("secondary", n_secondary, 0.8),
            ("special", n_special, 0.4),
            ("alternative_provision", 1, 0.5),
        ):
            for _ in range(count):
                rows.append((la.la_code, phase, "academy" if rng.random() < academy else "maintained"))
    schools = pd.DataFrame(rows, columns=["la_code", "phase", "school_type"])
    urns = rng.choice(np.arange(100000, 150000), size=len(schools), replace=False)
    schools.insert(0, "school_urn", urns.astype(str))
    return schools
