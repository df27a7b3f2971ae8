"""On the default data: the pipeline's three-party run (stage ``pprl``) as the parties see it.

Needs ``make pipeline`` (the ``pprl`` stage's files); skipped otherwise. Checks what
each party holds, not the linker's accuracy (that is ``benchmarks/pprl_accuracy.py``).
"""

from __future__ import annotations

import pandas as pd
import pytest

from sendlink import config, schema
from sendlink.pprl.encode import read_encoded
from sendlink.pprl.keys import DEMO_SECRET
from sendlink.pprl.pseudonyms import PSEUDONYM
from sendlink.scan import Scanner, collect_identifiers
from sendlink.scan.linkage_unit import scan_linkage_unit
from sendlink.schema import catalogue
from sendlink.schema.spine import LINKS

pytestmark = [pytest.mark.needs_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def paths(default_data):
    paths = config.Paths.discover()
    if not all(f.at(paths).is_file() for f in (*catalogue.LINKAGE_UNIT, catalogue.PPRL_LINKS)):
        pytest.skip("the pprl stage's files are missing; run `make pipeline`")
    return paths


def test_the_linkage_unit_holds_only_encodings_and_pseudonyms(paths):
    scanner = Scanner(collect_identifiers(paths))
    hits, scanned = scan_linkage_unit(paths.linkage_unit, scanner, [DEMO_SECRET])
    assert not hits, "\n".join(map(str, hits[:20]))
    assert {p.name for p in scanned} == {f.name for f in catalogue.LINKAGE_UNIT}


def test_links_come_back_with_the_contract_and_the_parties_keys(paths):
    returned = pd.read_parquet(catalogue.UNIT_LINKS.at(paths))
    assert list(returned.columns) == ["survey_id", "upn", "match_probability", "match_weight", "link_status"]
    assert returned["survey_id"].str.fullmatch(PSEUDONYM.pattern).all()
    final = pd.read_parquet(catalogue.PPRL_LINKS.at(paths))
    schema.validate(final, LINKS, catalogue.PPRL_LINKS.at(paths))
    survey = pd.read_parquet(catalogue.SURVEY_SPINE.at(paths), columns=["survey_id"])
    npd = pd.read_parquet(catalogue.NPD_SPINE.at(paths), columns=["upn"])
    assert set(final["survey_id"]) == set(survey["survey_id"])  # one row per child sent, under its own id
    linked = final.loc[final["upn"].fillna("") != "", "upn"]
    assert linked.isin(npd["upn"]).all() and linked.is_unique  # real UPNs again, one-to-one


def test_each_data_holder_keeps_its_own_mapping(paths):
    survey_map = pd.read_parquet(catalogue.PPRL_SURVEY_MAPPING.at(paths))
    npd_map = pd.read_parquet(catalogue.PPRL_NPD_MAPPING.at(paths))
    assert list(survey_map.columns) == ["survey_id", "pseudonym"] and list(npd_map.columns) == ["upn", "pseudonym"]
    assert not set(survey_map["pseudonym"]) & set(npd_map["pseudonym"])
    encoded = read_encoded(catalogue.UNIT_NPD_ENCODED.at(paths))
    assert set(encoded.keys) == set(npd_map["pseudonym"])
    # The encoded rows are not in the NPD spine's order (shuffled before encoding).
    order = npd_map.set_index("pseudonym").loc[encoded.keys[:1000], "upn"].tolist()
    spine = pd.read_parquet(catalogue.NPD_SPINE.at(paths), columns=["upn"])["upn"].tolist()[:1000]
    assert order != spine
