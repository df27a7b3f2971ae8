"""Small synthetic populations for the linkage tests (hand-made, seeded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sendlink.params import load_params

#: The project's linkage parameters and seed: the linker under test behaves as the pipeline's does.
PROJECT = load_params(Path(__file__).resolve().parents[3] / "params.yaml")
LINKAGE, SEED = PROJECT.linkage, PROJECT.seed

FORENAMES = ["oliver", "amelia", "harry", "isla", "jack", "ava", "charlie", "mia", "george", "emily",
             "noah", "poppy", "leo", "ella", "oscar", "grace", "archie", "lily", "jacob", "sophie",
             "thomas", "chloe", "james", "evie", "william", "ruby", "alfie", "daisy", "henry", "freya"]
SURNAMES = ["smith", "jones", "taylor", "brown", "williams", "wilson", "johnson", "davies", "patel", "wright",
            "khan", "evans", "thomas", "roberts", "walker", "hughes", "green", "hall", "wood", "clarke",
            "okafor", "nowak", "zielinski", "abara", "fairweather", "quinnell", "ashdown", "mbeki", "laverty", "ozturk"]


def make_population(n: int, rng: np.random.Generator, key: str = "upn", prefix: str = "N") -> pd.DataFrame:
    """``n`` distinct children born 2008-09 with plausible English identifiers."""
    days = rng.integers(0, 365, size=n)
    dob = pd.Timestamp("2008-09-01") + pd.to_timedelta(days, unit="D")
    outward = rng.choice(["M1", "M14", "LS6", "B12", "SW1A", "NE4", "BS3", "CF10"], size=n)
    return pd.DataFrame({
        key: [f"{prefix}{i:06d}" for i in range(n)],
        "forename": rng.choice(FORENAMES, size=n),
        "middle_names": np.where(rng.random(n) < 0.5, rng.choice(FORENAMES, size=n), ""),
        "surname": rng.choice(SURNAMES, size=n),
        "date_of_birth": dob.strftime("%Y-%m-%d"),
        "sex": rng.choice(["F", "M"], size=n),
        "postcode": [f"{o} {rng.integers(1, 9)}{chr(65 + rng.integers(0, 26))}{chr(65 + rng.integers(0, 26))}" for o in outward],
        "school_urn": rng.integers(100000, 100060, size=n).astype(str),
    })


def survey_from(npd: pd.DataFrame, rows: list[int] | np.ndarray) -> pd.DataFrame:
    """Survey records copied from NPD rows, keyed S000000..."""
    survey = npd.iloc[list(rows)].drop(columns="upn").reset_index(drop=True).copy()
    survey.insert(0, "survey_id", [f"S{i:06d}" for i in range(len(survey))])
    return survey


def write_linkage_inputs(paths, npd: pd.DataFrame, survey: pd.DataFrame) -> None:
    """Write what the pipeline's linkage stage reads: the NPD spine and the incoming survey spine."""
    from sendlink.schema import catalogue

    catalogue.NPD_SPINE.at(paths).parent.mkdir(parents=True, exist_ok=True)
    npd.to_parquet(catalogue.NPD_SPINE.at(paths), index=False)
    incoming = catalogue.SURVEY_SPINE.at(paths)
    incoming.parent.mkdir(parents=True, exist_ok=True)
    survey.to_parquet(incoming, index=False)
