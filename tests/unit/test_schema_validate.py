"""Schema validation: one clear error naming the file, the column and the rows."""

import pandas as pd
import pandera.pandas as pa
import pytest

from sendlink.errors import InputError
from sendlink.schema import column, table, validate

SCHEMA = table(
    "toy",
    {
        "id": column(str, "key", source="design", unique=True),
        "provision": column(str, "code", codes={"E": "plan", "K": "support", "N": "none"}),
        "year": column(int, "year", checks=[pa.Check.in_range(2016, 2025)]),
    },
    description="toy", holder="dfe", path="toy.csv", key=("id",),
)


def test_a_valid_frame_passes():
    frame = pd.DataFrame({"id": ["a", "b"], "provision": ["E", "N"], "year": [2016, 2025]})
    assert validate(frame, SCHEMA, "toy.csv").equals(frame)


def test_a_bad_code_names_file_column_rows_and_values():
    frame = pd.DataFrame({"id": ["a", "b", "c"], "provision": ["E", "Q", "Z"], "year": [2020, 2020, 2020]})
    with pytest.raises(InputError) as err:
        validate(frame, SCHEMA, "data/toy.csv")
    message = str(err.value)
    assert message.startswith("data/toy.csv, column 'provision'")
    # Rows count from 1, as in a spreadsheet: 'Q' is the second data row.
    assert "data rows, from 1: 2: 'Q', 3: 'Z'" in message


def test_every_failing_column_is_listed():
    frame = pd.DataFrame({"id": ["a"], "provision": ["Q"], "year": [1990]})
    with pytest.raises(InputError) as err:
        validate(frame, SCHEMA, "toy.csv")
    assert "provision" in str(err.value) and "year" in str(err.value)


def test_missing_and_unexpected_columns():
    frame = pd.DataFrame({"id": ["a"], "provision": ["E"], "colour": ["blue"]})
    with pytest.raises(InputError) as err:
        validate(frame, SCHEMA, "toy.csv")
    assert "missing column(s): year" in str(err.value)
    assert "unexpected column(s): colour" in str(err.value)


def test_duplicate_keys_are_reported():
    frame = pd.DataFrame({"id": ["a", "a"], "provision": ["E", "E"], "year": [2020, 2020]})
    with pytest.raises(InputError, match="id"):
        validate(frame, SCHEMA, "toy.csv")


def test_long_lists_of_rows_are_shortened():
    frame = pd.DataFrame({"id": [str(i) for i in range(12)], "provision": ["Q"] * 12, "year": [2020] * 12})
    with pytest.raises(InputError, match="and 7 more"):
        validate(frame, SCHEMA, "toy.csv")
