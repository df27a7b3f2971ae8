"""No direct identifier can reach the extract: the contract refuses it."""

from __future__ import annotations

import pandas as pd
import pytest

from sendlink import schema
from sendlink.deidentify.stage import conform
from sendlink.errors import InputError
from sendlink.schema.research import DIRECT_IDENTIFIERS, EXTRACT


def test_contract_lists_no_direct_identifier():
    assert not DIRECT_IDENTIFIERS & set(EXTRACT.columns)
    assert not any(col.metadata and col.metadata.get("source") == "identifier" for col in EXTRACT.columns.values())
    assert EXTRACT.strict is True


@pytest.mark.parametrize("identifier", sorted(DIRECT_IDENTIFIERS))
def test_validation_refuses_an_identifier_column(identifier):
    frame = conform(pd.DataFrame({"research_id": ["a" * 32]}))
    frame[identifier] = "x"
    with pytest.raises(InputError, match=f"unexpected column.*{identifier}"):
        schema.validate(frame, EXTRACT, "extract.parquet")


def test_conform_drops_what_the_contract_does_not_list():
    frame = conform(pd.DataFrame({"research_id": ["b", "a"], "survey_id": ["S1", "S2"], "postcode": ["QA1 1AA", None]}))
    assert list(frame.columns) == list(EXTRACT.columns)
    assert frame["research_id"].tolist() == ["a", "b"]


def test_birth_codes_accept_each_level_only():
    check = EXTRACT.columns["npd_birth_year_month"]
    ok = pd.Series(["2008-10", "2008/09 autumn", "2008/09"])
    assert check.validate(pd.DataFrame({"npd_birth_year_month": ok})) is not None
    import pandera.pandas as pa

    with pytest.raises(pa.errors.SchemaError):
        check.validate(pd.DataFrame({"npd_birth_year_month": pd.Series(["2008-10-31"])}))
