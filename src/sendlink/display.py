"""Shared set-up for the notebooks: stable display, figures, the run's parameters.

Every notebook starts with :func:`setup`, so tables and figures look the
same everywhere and outputs are identical on every machine (fixed float
formatting, a fixed figure style, no timestamps).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from sendlink import config
from sendlink.params import Params, load_params
from sendlink.schema import catalogue


@dataclass(frozen=True)
class Context:
    """What a notebook needs: the project's folders and parameters."""

    paths: config.Paths
    params: Params

    @property
    def data_fingerprint(self) -> str:
        """The first 12 hex digits of the parameters the data were made from.

        From ``data/synthetic/manifest.json``: it changes only when the
        seed or the ``synth`` parameters change, which is when the outputs
        of every notebook may change too.
        """
        manifest = catalogue.MANIFEST.at(self.paths)
        if not manifest.is_file():
            return "no data yet: run `make data`"
        return json.loads(manifest.read_text(encoding="utf-8"))["params_sha256"][:12]


def setup(level: int = logging.WARNING) -> Context:
    """Configure pandas and matplotlib for stable output; report the parameters used.

    Prints one line naming the seed and the fingerprint of the parameters
    the data were generated from, so every notebook says what it ran on.
    """
    import matplotlib as mpl
    import pandas as pd

    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    pd.set_option("display.float_format", lambda v: f"{v:,.3f}".rstrip("0").rstrip(".") if v == v else "")
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.width", 160)
    pd.set_option("display.max_colwidth", 80)
    mpl.rcParams.update(
        {
            "figure.figsize": (7.5, 4.2),
            "figure.dpi": 96,
            "savefig.dpi": 96,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "font.size": 10,
            "svg.hashsalt": "sendlink",
        }
    )
    paths = config.Paths.discover()
    params = load_params(paths.params)
    ctx = Context(paths, params)
    print(f"Data: seed {params.seed}, synthetic parameters {ctx.data_fingerprint} (sha256 prefix)")
    return ctx
