"""Statistical disclosure control for every published table.

The last stage of the pipeline, run by the researchers on the de-identified
extract: every table a notebook or report shows about people goes through
one of these functions, and a test runs :func:`check_published` on it.

What comes in: a table of counts, or microdata (one row per person) and the
columns to group by. What goes out: a :class:`ProtectedTable` holding the
display table (strings, DfE's symbols ``c`` suppressed, ``x`` not available,
``z`` not applicable), a status mask saying why each cell looks as it does,
the published numbers, and a footnote stating the rules.

The rules (``disclosure:`` in ``params.yaml``, :class:`DisclosureParams`):

* counts below the threshold (10), and zeros if configured, are suppressed;
* **secondary suppression**: further cells are hidden until no suppressed
  count can be worked out from the totals and the other cells. Each pattern
  is audited by linear programming, as an attacker would: for every hidden
  sensitive cell, the largest value consistent with the published table must
  reach the threshold, so a reader can never tell the count is small;
* other counts are rounded to the nearest 5 (the ONS "10-5 rule"), totals
  independently;
* means, medians and percentages need at least 10 contributors; sums and
  means are also suppressed when the N-K dominance rule fires (the 2 largest
  contributions above 85% of the total), with complementary cells for
  tables with margins.

Assumptions and limits
----------------------
* Each table is protected on its own. Two published tables that share cells
  (a count table and a percentage table of the same groups, or tables one
  level apart in a hierarchy) can together reveal what neither does: publish
  one view of the same cells, or protect them as one table.
* The attacker is assumed to know every published cell exactly (rounding
  gives further protection that the audit does not count on), the table's
  additivity, and that counts are non-negative.
* Each row of microdata is one person (one contributor).

Example
-------
Notebooks pass the project's rules, ``ctx.params.disclosure``; here they are
written out:

>>> import pandas as pd
>>> from sendlink import disclosure
>>> rules = disclosure.DisclosureParams(
...     threshold=10, suppress_zeros=False, rounding_base=5, min_contributors=10, dominance_n=2,
...     dominance_k=85, magnitude_protection=10, decimals=1, percent_decimals=1)
>>> people = pd.DataFrame({"provision": ["EHC plan"] * 23 + ["SEN support"] * 61,
...                        "fsm": ["yes"] * 12 + ["no"] * 11 + ["yes"] * 4 + ["no"] * 57})
>>> table = disclosure.crosstab(people, "provision", "fsm", rules)
>>> disclosure.check_published(table)
>>> table.display  # doctest: +NORMALIZE_WHITESPACE
fsm           no  yes  Total
provision
EHC plan       c    c     25
SEN support    c    c     60
Total         70   15     85
"""

from sendlink.disclosure.check import attacker_intervals, check_published
from sendlink.disclosure.counts import crosstab, protect_counts
from sendlink.disclosure.lattice import DisclosureError
from sendlink.disclosure.magnitudes import dominated, protect_magnitudes, protect_percentages
from sendlink.disclosure.table import (
    NOT_APPLICABLE,
    SUPPRESSED,
    UNAVAILABLE,
    ProtectedTable,
    Status,
    round_to_base,
)
from sendlink.params.disclosure import DisclosureParams

__all__ = [
    "NOT_APPLICABLE",
    "SUPPRESSED",
    "UNAVAILABLE",
    "DisclosureError",
    "DisclosureParams",
    "ProtectedTable",
    "Status",
    "attacker_intervals",
    "check_published",
    "crosstab",
    "dominated",
    "protect_counts",
    "protect_magnitudes",
    "protect_percentages",
    "round_to_base",
]
