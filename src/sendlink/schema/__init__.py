"""Column contracts for every table, and validation with clear errors.

One module per group of tables; each table is a pandera schema whose column
metadata feeds the data dictionary (``sendlink dictionary``). Use
:func:`validate` at every stage boundary.
"""

from sendlink.schema.base import column, table, validate

__all__ = ["column", "table", "validate"]
