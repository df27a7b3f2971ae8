"""The world's stage: generate the synthetic data (:func:`run`; ``sendlink synth``, ``make data``).

Run by nobody in the story: it makes the world the parties then work in.
**In:** the ``synth:`` parameters and the seed. **Out:** the files of
``data/synthetic/`` (or the folder ``paths`` points the synthetic world at):
DfE's NPD, the survey organisation's raw files, the truth (for evaluation
only) and a manifest with the fingerprint of what made them
(:mod:`sendlink.synth.generate`). The same parameters and generator code
give byte-identical files, so a world whose manifest carries the same
fingerprint need not be made again.
"""

from __future__ import annotations

import json
import logging
import time

from sendlink.config import Paths
from sendlink.io import remove_stale_temporaries, temporaries_in
from sendlink.params import Params, load_params
from sendlink.schema import catalogue

__all__ = ["run"]

log = logging.getLogger(__name__)


def run(paths: Paths | None = None, params: Params | None = None, *, if_stale: bool = True) -> bool:
    """Generate the synthetic world into ``paths.synthetic``; return whether anything was written.

    Parameters
    ----------
    paths, params
        The project's, by default.
    if_stale
        Do nothing when the manifest there was made from the same
        parameters and generator code (the data would be byte-identical);
        ``False`` always regenerates.
    """
    from sendlink.synth.generate import generate, params_fingerprint, write

    paths = paths or Paths.discover()
    params = params or load_params(paths.params)
    remove_stale_temporaries(temporaries_in(paths.synthetic))
    seed, synth = params.seed, params.synth
    if if_stale:
        manifest = catalogue.MANIFEST.at(paths)
        if manifest.is_file():
            try:
                old = json.loads(manifest.read_text(encoding="utf-8")).get("params_sha256")
            except json.JSONDecodeError:
                old = None
            if old == params_fingerprint(synth, seed):
                log.info("%s is up to date with the parameters; nothing to do", paths.synthetic)
                return False
    start = time.perf_counter()
    dataset = generate(synth, seed, as_of=synth.consent.events_until, progress=log.isEnabledFor(logging.INFO))
    written = write(dataset, paths.synthetic)
    log.info("wrote %d files to %s in %.1f s", len(written), paths.synthetic, time.perf_counter() - start)
    return True
