"""Name pools that behave like real ones, and vectorised sampling from them.

Real names matter for linkage: a skewed frequency distribution makes common
names collide (many Jack Smiths), a long tail makes rare names informative,
and names of many origins bring transliteration variants, diacritics,
apostrophes, particles, gendered and double-barrelled surnames.

Sources (see the headers of the CSV files in ``synth/data``):

* forenames for children born 2008-09 in England and Wales (ONS baby-name
  rankings, order only) and hand-curated lists for other origin groups;
* surnames: a hand-ordered list of common surnames in England and Wales, the
  weighted en_GB surname list shipped with ``faker`` as a middle tail, and a
  long tail of rare surnames composed from English surname elements;
* weights within a list are Zipf-like by rank (an assumption:
  ``weight = 1 / rank ** zipf_exponent``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from sendlink.params.synth import (
    ORIGINS as ORIGINS,  # the name-origin groups, in code order (re-exported: names.ORIGINS)
)

# Elements of English surnames, combined into a long tail of rare surnames
# (Ashworth, Thornfield, ...). No library ships a frequency-weighted tail of
# rare English surnames, hence this small generator.
_PREFIXES = (
    "Ash Black Brad Bram Brook Chad Clay Cole Cran Dal Elm Fair Fern Glad Green Hal Hart Hay "
    "Hol Kel Kings Lang Lock Mar Mill New Nor Oak Pen Rad Ram Red Rid Ros Shel Stan Stock Sud "
    "Thorn Wad War Wen West Whit Wick Win Wood Wor Alder Bar Bel Birk Bos Brent Bur Cald Carl "
    "Chil Crom Dun Eas Fal Gar Hawk Hen Kirk Lay Mel Mor Pem Pres Rother Sax Sher Staf Tal "
    "Tem Thurl Wal Wes Yar"
).split()
_SUFFIXES = (
    "ley ton worth field ford ham by well wood bury combe shaw croft dale ridge stead wick "
    "more hurst brook den cliffe thorpe low stone burn gate land bourne holme"
).split()

# Polish surnames agree in gender: Kowalski (m) / Kowalska (f).
_POLISH_FEMININE = (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka"))


@dataclass(frozen=True)
class Pool:
    """Names and their sampling probabilities."""

    names: np.ndarray
    probs: np.ndarray

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``size`` names with replacement."""
        if size == 0:
            return np.array([], dtype=object)
        return self.names[rng.choice(len(self.names), size=size, p=self.probs)]


def _zipf(n: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1, dtype=float) ** exponent
    return weights / weights.sum()


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("sendlink.synth").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(lines))


@cache
def _forename_lists() -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for row in _read_csv("forenames.csv"):
        out.setdefault((row["origin"], row["sex"]), []).append(row["name"])
    return out


@cache
def _surname_lists() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in _read_csv("surnames.csv"):
        out.setdefault(row["origin"], []).append(row["name"])
    return out


@cache
def rare_british_surnames() -> tuple[str, ...]:
    """The long tail: composed names plus faker's en_IE and en_US surname lists.

    Names already in the head or middle lists are left out, so each tail name
    is rare. Sorted, so the pool does not depend on set ordering.
    """
    from faker.providers.person.en_IE import Provider as Irish
    from faker.providers.person.en_US import Provider as American

    common = set(_surname_lists()["british"]) | set(_faker_surnames()[0])
    composed = {p + s for p in _PREFIXES for s in _SUFFIXES}
    listed = set(Irish.last_names) | set(American.last_names)
    # Keep single-token Latin names only; hyphenated and multi-part names are
    # made deliberately elsewhere.
    tail = {n for n in composed | listed if n.isalpha() and n not in common}
    return tuple(sorted(tail))


@cache
def _faker_surnames() -> tuple[tuple[str, ...], tuple[float, ...]]:
    # faker's en_GB list carries frequency weights; its order is stable.
    from faker.providers.person.en_GB import Provider

    items = list(Provider.last_names.items())
    return tuple(n for n, _ in items), tuple(float(w) for _, w in items)


@cache
def _forename_tail(sex: str) -> tuple[str, ...]:
    """Less common forenames: faker's en_IE, en_GB and en_US lists (sorted)."""
    from faker.providers.person.en_GB import Provider as British
    from faker.providers.person.en_IE import Provider as Irish
    from faker.providers.person.en_US import Provider as American

    attr = "first_names_male" if sex == "M" else "first_names_female"
    names = set()
    for provider in (British, Irish, American):
        names |= set(getattr(provider, attr))
    head = set(_forename_lists()[("british", sex)])
    return tuple(sorted(n for n in names if n.isalpha() and n not in head))


def _head_and_tail(head: list[str], tail: tuple[str, ...], exponent: float, tail_share: float) -> Pool:
    head_p = _zipf(len(head), exponent) * (1.0 - tail_share)
    tail_p = np.full(len(tail), tail_share / len(tail)) if tail else np.array([])
    names = np.array(list(head) + list(tail), dtype=object)
    probs = np.concatenate([head_p, tail_p])
    return Pool(names, probs / probs.sum())


@cache
def forename_pool(origin: str, sex: str, zipf_exponent: float, tail_share: float) -> Pool:
    """Forenames for children of ``origin`` and ``sex`` ('F' or 'M').

    British names have a tail of less common names (``tail_share`` of
    children); other origin groups are small hand lists without a tail.
    """
    head = _forename_lists()[(origin, sex)]
    tail = _forename_tail(sex) if origin == "british" else ()
    return _head_and_tail(head, tail, zipf_exponent, tail_share if tail else 0.0)


@cache
def surname_pool(origin: str, zipf_exponent: float, tail_share: float) -> Pool:
    """Surnames for families of ``origin``.

    For ``british`` the hand-ordered head is followed by faker's weighted
    en_GB list (half of ``tail_share``) and the rare tail (the other half).
    """
    head = _surname_lists()[origin]
    if origin != "british":
        return _head_and_tail(head, (), zipf_exponent, 0.0)
    mid_names, mid_weights = _faker_surnames()
    head_set = set(head)
    keep = [i for i, n in enumerate(mid_names) if n not in head_set]
    mid = np.array([mid_names[i] for i in keep], dtype=object)
    mid_p = np.array([mid_weights[i] for i in keep], dtype=float)
    mid_p /= mid_p.sum()
    tail = np.array(rare_british_surnames(), dtype=object)
    tail_p = np.full(len(tail), 1.0 / len(tail))
    names = np.concatenate([np.array(head, dtype=object), mid, tail])
    probs = np.concatenate(
        [_zipf(len(head), zipf_exponent) * (1 - tail_share), mid_p * tail_share / 2, tail_p * tail_share / 2]
    )
    return Pool(names, probs / probs.sum())


def feminine_surname(surname: str, origin: str) -> str:
    """The form of a family surname a girl carries (Polish: -ski -> -ska)."""
    if origin == "polish":
        for masc, fem in _POLISH_FEMININE:
            if surname.endswith(masc):
                return surname[: -len(masc)] + fem
    return surname


#: Common middle names for British children (an assumption).
BRITISH_MIDDLE = {
    "M": ("James", "John", "Thomas", "David", "Michael", "Lee", "Paul", "William", "Alexander", "George", "Robert", "Anthony"),
    "F": ("Rose", "Mae", "Grace", "Louise", "Marie", "Elizabeth", "Jane", "May", "Anne", "Lily", "Jade", "Victoria"),
}


@cache
def informal_forms() -> dict[str, tuple[str, ...]]:
    """Formal forename -> informal forms a parent may write (synth/data/nicknames.csv)."""
    out: dict[str, list[str]] = {}
    for row in _read_csv("nicknames.csv"):
        out.setdefault(row["formal"], []).append(row["informal"])
    return {k: tuple(v) for k, v in out.items()}


@cache
def spelling_variants() -> dict[str, tuple[str, ...]]:
    """Name -> other spellings of the same name (synth/data/spelling_variants.csv)."""
    out: dict[str, tuple[str, ...]] = {}
    for row in _read_csv("spelling_variants.csv"):
        group = row["group"].split("|")
        for name in group:
            out[name] = tuple(other for other in group if other != name)
    return out
