"""The few SQL functions the comparison levels use, written for one engine.

Stage ``link``, run by DfE. Each comparison level of
:mod:`sendlink.link.compare` carries its condition as Splink SQL, written
as a function of a :class:`Sql` writer, so that one level has one place
and the same level is written for Splink's DuckDB or Spark backend
(:data:`DIALECTS`), with sendlink's own string measures registered in the
engine or with the engine's built-ins (:data:`FUNCTIONS`); see
:mod:`sendlink.link.splink_export`.

Only function names differ between the dialects: lists are DuckDB lists or
Spark arrays, the regular-expression test and the cast to integer are
spelled differently. The string measures are the ones that matter:

* ``functions="sendlink"``: :data:`JW_FUNCTION` and :data:`OSA_FUNCTION`,
  the very rapidfuzz calls :mod:`sendlink.link.compare` makes, registered
  in the engine (:func:`sendlink.link.splink_export.register_duckdb_functions`,
  :func:`~sendlink.link.splink_export.register_spark_functions`): every level
  is reproduced exactly.
* ``functions="builtin"``: DuckDB's ``jaro_winkler_similarity`` and
  ``damerau_levenshtein``, or on Spark the ``jaro_winkler`` and
  ``damerau_levenshtein`` Splink registers from the jar it ships. They are
  not the same measures (DuckDB rounds a similarity exactly on the 0.80
  band edge to the other side; the jar's Apache Commons Text Jaro-Winkler
  differs from rapidfuzz's on some names), so a few pairs fall in another
  level; ``benchmarks/splink_spark.py`` measures how many.
"""

from __future__ import annotations

__all__ = ["DIALECTS", "FUNCTIONS", "JW_FUNCTION", "OSA_FUNCTION", "Sql"]

#: SQL dialects: Splink's DuckDB and Spark backends.
DIALECTS = ("duckdb", "spark")
#: Where the string measures come from: sendlink's own, registered in the engine, or the engine's built-ins.
FUNCTIONS = ("sendlink", "builtin")
#: The SQL names of sendlink's string measures once registered.
JW_FUNCTION, OSA_FUNCTION = "sendlink_jaro_winkler", "sendlink_osa"


class Sql:
    """SQL for one engine (``dialect``) and one source of string measures (``functions``).

    >>> Sql("spark", "builtin").jw("fn_l", "fn_r")
    'jaro_winkler(fn_l, fn_r)'
    >>> Sql("duckdb").contains("mid_r", "fn_l")
    'list_contains(mid_r, fn_l)'
    """

    def __init__(self, dialect: str = "duckdb", functions: str = "sendlink") -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown SQL dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
        if functions not in FUNCTIONS:
            raise ValueError(f"unknown string functions {functions!r}; expected one of {', '.join(FUNCTIONS)}")
        self.dialect, self.functions = dialect, functions
        self.spark = dialect == "spark"
        self.own = functions == "sendlink"

    def jw(self, a: str, b: str) -> str:
        """Jaro-Winkler similarity of two text columns."""
        if self.own:
            return f"{JW_FUNCTION}({a}, {b})"
        return f"jaro_winkler({a}, {b})" if self.spark else f"jaro_winkler_similarity({a}, {b})"

    def osa(self, a: str, b: str) -> str:
        """Optimal-string-alignment distance (one substitution, insertion, deletion or adjacent swap per step)."""
        return f"{OSA_FUNCTION}({a}, {b})" if self.own else f"damerau_levenshtein({a}, {b})"

    def overlap(self, a: str, b: str) -> str:
        """Two lists share a value."""
        return f"arrays_overlap({a}, {b})" if self.spark else f"list_has_any({a}, {b})"

    def contains(self, values: str, value: str) -> str:
        """A list holds a value."""
        return f"array_contains({values}, {value})" if self.spark else f"list_contains({values}, {value})"

    def is_letter(self, text: str) -> str:
        """A one-character text is a lower-case letter."""
        return f"{text} RLIKE '^[a-z]$'" if self.spark else f"regexp_matches({text}, '^[a-z]$')"

    def as_int(self, condition: str) -> str:
        """A condition as 0 or 1."""
        return f"CAST({condition} AS INT)" if self.spark else f"({condition})::INT"

    def size(self, values: str) -> str:
        """The number of values in a list."""
        return f"size({values})" if self.spark else f"len({values})"

    def matches(self, text: str, pattern: str) -> str:
        """A text matches a regular expression somewhere."""
        return f"{text} RLIKE '{pattern}'" if self.spark else f"regexp_matches({text}, '{pattern}')"

    def without(self, text: str, pattern: str) -> str:
        """A text with every match of a regular expression removed."""
        return f"regexp_replace({text}, '{pattern}', '')"

    def starts_with(self, text: str, prefix: str) -> str:
        """A text begins with another (written with substring: the same in both engines)."""
        return f"(substring({text}, 1, length({prefix})) = {prefix})"

    def prepend(self, value: str, values: str) -> str:
        """A list with a value put first."""
        return f"concat(array({value}), {values})" if self.spark else f"list_concat([{value}], {values})"

    def days_apart(self, left: tuple[str, str, str], right: tuple[str, str, str]) -> str:
        """Days between two dates given as (year, month, day) columns."""
        a, b = f"make_date({', '.join(left)})", f"make_date({', '.join(right)})"
        return f"abs(datediff({a}, {b}))" if self.spark else f"abs(date_diff('day', {a}, {b}))"
