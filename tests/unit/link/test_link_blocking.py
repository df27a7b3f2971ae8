"""Blocking passes, splitting and capping exploding blocks, blocking recall."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from sendlink.link.blocking import block
from sendlink.link.features import encode_frames


def features(survey: pd.DataFrame, npd: pd.DataFrame):
    return encode_frames(survey, npd)


def test_passes_are_unioned_and_counted():
    survey = pd.DataFrame({"survey_id": ["s0", "s1"], "date_of_birth": ["2009-01-05", "2009-03-12"], "postcode": ["M1 1AA", "LS6 3QE"]})
    npd = pd.DataFrame({"upn": ["n0", "n1", "n2"], "date_of_birth": ["2009-01-05", "2009-12-03", "2009-01-05"], "postcode": ["M1 1AA", "B1 1AA", "B1 1AA"]})
    result = block(features(survey, npd), [("dob", ("dob",), ()), ("dob_swapped", ("dob_swapped",), ()), ("postcode", ("postcode",), ())], 100)
    pairs = set(zip(result.survey_rows.tolist(), result.npd_rows.tolist(), strict=True))
    # dob: s0-n0, s0-n2; swapped: s1 (2009-12-03) - n1; postcode: s0-n0 again.
    assert pairs == {(0, 0), (0, 2), (1, 1)}
    stats = result.table().set_index("name")
    assert stats.loc["dob", "pairs"] == 2 and stats.loc["dob", "new_pairs"] == 2
    assert stats.loc["dob_swapped", "pairs"] == 1
    assert stats.loc["postcode", "pairs"] == 1 and stats.loc["postcode", "new_pairs"] == 0
    # s0-n0 was found by passes 0 and 2: bits 1 + 4
    assert result.passes[result.npd_rows.tolist().index(0)] == 0b101


def test_missing_keys_never_block_together():
    survey = pd.DataFrame({"survey_id": ["s0"], "date_of_birth": [None]})
    npd = pd.DataFrame({"upn": ["n0"], "date_of_birth": [None]})
    assert len(block(features(survey, npd), [("dob", ("dob",), ())], 100)) == 0


def test_exploding_block_is_split_then_capped(caplog):
    # 30 NPD pupils share one birthday; 20 are girls, 10 of them named Smith.
    npd = pd.DataFrame({
        "upn": [f"n{i}" for i in range(30)],
        "date_of_birth": ["2009-01-05"] * 30,
        "sex": ["F"] * 20 + ["M"] * 10,
        "surname": ["Smith"] * 10 + ["Jones"] * 10 + ["Khan"] * 10,
    })
    survey = pd.DataFrame({"survey_id": ["girl_smith", "boy_khan", "no_sex"], "date_of_birth": ["2009-01-05"] * 3,
                           "sex": ["F", "M", None], "surname": ["Smith", "Khan", "Smith"]})
    with caplog.at_level(logging.INFO, logger="sendlink.link.blocking"):
        result = block(features(survey, npd), [("dob", ("dob",), ("sex", "surname_initial"))], max_block_size=10)
    stats = result.stats[0]
    # Each survey record meets a block of 30 > 10: split by sex -> girls 20
    # (still too big), boys 10 (kept); girls split by surname initial -> 10
    # Smiths (kept). The record without sex cannot be split: capped.
    assert stats.survey_records_split == 3  # records whose block was split (the girl twice)
    assert stats.survey_records_capped == 1
    counts = pd.Series(result.survey_rows).value_counts().to_dict()
    assert counts == {0: 10, 1: 10}
    assert "splitting by sex" in caplog.text


def test_block_still_too_big_after_every_split_is_capped(caplog):
    npd = pd.DataFrame({"upn": [f"n{i}" for i in range(12)], "date_of_birth": ["2009-01-05"] * 12, "sex": ["F"] * 12})
    survey = pd.DataFrame({"survey_id": ["s"], "date_of_birth": ["2009-01-05"], "sex": ["F"]})
    with caplog.at_level(logging.WARNING, logger="sendlink.link.blocking"):
        result = block(features(survey, npd), [("dob", ("dob",), ("sex",))], max_block_size=5)
    assert len(result) == 0
    assert result.stats[0].survey_records_capped == 1
    assert "capped" in caplog.text


def _pairs(result) -> set[tuple[int, int]]:
    return set(zip(result.survey_rows.tolist(), result.npd_rows.tolist(), strict=True))


def test_forename_groups_surname_parts_and_transposed_names_meet():
    survey = pd.DataFrame({"survey_id": ["bob", "part", "swap"], "forename": ["Bob", "Amy", "Smith"],
                           "surname": ["Okafor", "Jones", "Oliver"], "date_of_birth": ["2009-01-05"] * 3})
    npd = pd.DataFrame({"upn": ["robert", "smith_jones", "oliver_smith", "other"],
                        "forename": ["Robert", "Amy", "Oliver", "Zara"],
                        "surname": ["Okafor", "Smith-Jones", "Smith", "Quinn"], "date_of_birth": ["2009-01-05"] * 4})
    f = features(survey, npd)
    assert _pairs(block(f, [("dob_forename", ("dob", "forename_group"), ())], 100)) == {(0, 0), (1, 1)}
    assert _pairs(block(f, [("dob_surname", ("dob", "surname_part"), ())], 100)) == {(0, 0), (1, 1)}
    assert _pairs(block(f, [("transposed", ("names_unordered",), ())], 100)) == {(2, 2)}


def test_a_rare_value_pass_keeps_small_blocks_only():
    # Three pupils born on 5 Jan, one on 6 Jan; the pass allows blocks of two.
    npd = pd.DataFrame({"upn": list("abcd"), "date_of_birth": ["2009-01-05"] * 3 + ["2009-01-06"]})
    survey = pd.DataFrame({"survey_id": ["common", "rare"], "date_of_birth": ["2009-01-05", "2009-01-06"]})
    result = block(features(survey, npd), [("dob_rare", ("dob",), (), 2)], max_block_size=100)
    assert _pairs(result) == {(1, 3)}
    assert result.stats[0].survey_records_capped == 1 and result.stats[0].max_block_size == 2


def test_non_uk_postcodes_block_exactly():
    survey = pd.DataFrame({"survey_id": ["s"], "postcode": ["4223"]})
    npd = pd.DataFrame({"upn": ["a", "b", "c"], "postcode": ["4223", "4232", "1234567890AB"]})
    assert _pairs(block(features(survey, npd), [("postcode", ("postcode",), ())], 100)) == {(0, 0)}


def test_names_in_the_other_box_meet_despite_another_difference():
    """Family name first plus a new surname, and a Somali father's name as the surname: the crossed-box keys find them."""
    npd = pd.DataFrame({"upn": ["n1", "n2", "n3"], "forename": ["Gavin", "Wei", "Oliver"], "surname": ["Way", "Tang", "Smith"],
                        "date_of_birth": ["2009-11-28", "2010-02-03", "2009-11-28"]})
    survey = pd.DataFrame({"survey_id": ["s1", "s2"], "forename": ["Ibarra", "Tang"], "surname": ["Gavin", "Li"],
                           "date_of_birth": ["2009-11-28", "2010-02-03"]})
    features = encode_frames(survey, npd)
    passes = [("as_forename", ("dob", "surname_as_forename"), (), 100), ("as_surname", ("dob", "forename_as_surname"), (), 100)]
    result = block(features, passes, 100)
    found = set(zip(result.survey_rows.tolist(), result.npd_rows.tolist(), strict=True))
    assert found == {(0, 0), (1, 1)}  # and not Oliver Smith, born the same day as Gavin


def test_a_child_known_by_a_later_given_name_meets_the_pupil():
    """Muhammad registered first (in the forename field or as a middle name): any given name meets."""
    npd = pd.DataFrame({"upn": ["n1", "n2", "n3"], "forename": ["Muhammad Zaakir", "Muhammad", "Zara"],
                        "middle_names": ["", "Abdul", ""], "surname": ["Chaudhry", "Hoque", "Khan"],
                        "date_of_birth": ["2013-02-13", "2009-02-03", "2013-02-13"]})
    survey = pd.DataFrame({"survey_id": ["s1", "s2"], "forename": ["Zaakir", "Abdul"], "surname": ["Chaudhary", "Krolczyk"],
                           "date_of_birth": ["2013-02-13", "2009-02-03"]})
    features = encode_frames(survey, npd)
    given = block(features, [("given", ("dob", "given_names"), (), 100)], 100)
    assert set(zip(given.survey_rows.tolist(), given.npd_rows.tolist(), strict=True)) == {(0, 0)}
    middle = block(features, [("middle", ("dob", "given_in_middle"), (), 100)], 100)
    assert set(zip(middle.survey_rows.tolist(), middle.npd_rows.tolist(), strict=True)) == {(1, 1)}


def test_two_name_differences_meet_through_the_project_passes():
    """A new surname with an initial (date right), and a 1 January placeholder with an initial (surname right):
    the project's passes dob_initial and year_surname_initial find both; the name passes alone do not."""
    from sendlink.params import load_params

    npd = pd.DataFrame({"upn": ["n1", "n2", "n3"], "forename": ["Brendan", "Jordan", "Bethany"],
                        "surname": ["Davies", "Atkins", "Davies"], "sex": ["M", "M", "F"],
                        "date_of_birth": ["2012-02-17", "2010-07-29", "2012-02-17"]})
    survey = pd.DataFrame({"survey_id": ["s1", "s2"], "forename": ["B", "J"], "surname": ["Fisher", "Atkins"],
                           "sex": ["M", "M"], "date_of_birth": ["2012-02-17", "2010-01-01"]})
    features = encode_frames(survey, npd)
    passes = {p.name: (p.name, tuple(p.keys), tuple(p.split_by), p.max_block_size) for p in load_params().linkage.blocking.passes}
    names_only = block(features, [passes["names"], passes["name_sounds"]], 100)
    assert len(names_only.survey_rows) == 0
    both = block(features, [passes["dob_initial"], passes["year_surname_initial"]], 100)
    assert set(zip(both.survey_rows.tolist(), both.npd_rows.tolist(), strict=True)) == {(0, 0), (1, 1)}  # not Bethany (sex)


def test_values_no_npd_record_holds_find_nothing():
    survey = pd.DataFrame({"survey_id": ["s0", "s1"], "date_of_birth": ["2009-01-05", "2010-07-07"], "surname": ["Okafor", "Quinn"]})
    npd = pd.DataFrame({"upn": ["n0", "n1"], "date_of_birth": ["2009-01-05", "2009-01-06"], "surname": ["Okafor", "Okafor"]})
    f = features(survey, npd)
    assert _pairs(block(f, [("dob_rare", ("dob",), (), 5)], 100)) == {(0, 0)}
    result = block(f, [("surname_rare", ("surname_part",), (), 5), ("dob_surname", ("dob", "surname_part"), ())], 100)
    assert _pairs(result) == {(0, 0), (0, 1)}
    assert result.stats[0].pairs == 2 and result.stats[1].pairs == 1


def test_same_pairs_whatever_the_number_of_threads(monkeypatch):
    rng = np.random.default_rng(5)
    names = ["Oliver", "Olly", "Amelia", "Amy", "Jack", "Jackie", "Noor", "Nur"]
    surnames = ["Smith", "Smith-Jones", "Jones", "Khan", "de Souza", "Souza"]
    def people(n, prefix):
        return pd.DataFrame({prefix: [f"{prefix}{i}" for i in range(n)], "forename": rng.choice(names, n),
                             "surname": rng.choice(surnames, n), "date_of_birth": rng.choice(["2009-01-05", "2009-05-01", "2010-02-03"], n),
                             "postcode": rng.choice(["M1 1AA", "LS6 3QE", None], n), "school_urn": rng.choice(["100001", "100002"], n)})
    f = features(people(40, "survey_id"), people(3000, "upn"))
    passes = [("names", ("forename_group", "surname_part"), ("birth_year",), 60), ("dob_forename", ("dob", "forename_group"), ()),
              ("postcode", ("postcode",), ()), ("transposed", ("names_unordered",), ()), ("surname_rare", ("surname_part",), (), 700)]
    results = []
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("SENDLINK_THREADS", threads)
        monkeypatch.setattr("sendlink.link.arrays.CHUNK", 256)  # many chunks even on a small NPD
        f.cache.clear()
        r = block(f, passes, 100)
        results.append((r.survey_rows.tolist(), r.npd_rows.tolist(), r.passes.tolist(), r.table().drop(columns="seconds").to_dict()))
    assert results[0] == results[1] == results[2]
    assert len(results[0][0]) > 100
