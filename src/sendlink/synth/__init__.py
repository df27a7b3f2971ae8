"""The synthetic world: a synthetic NPD and a synthetic SEND Futures survey, with their truth.

Run by nobody in the story (stage ``synth``, :func:`sendlink.synth.stage.run`;
``sendlink synth``): it makes the files each party holds, calibrated to
published statistics (docs/DOMAIN.md), with the ways real parents' reports
differ from school records, and records what really happened (the truth)
for evaluation. One seeded generator, split into independent streams,
makes every draw (:mod:`~sendlink.synth.generate`).

Modules, in the order the world is built: :mod:`~sendlink.synth.geography`
(local authorities, schools, postcodes), :mod:`~sendlink.synth.names`
(name lists and their variants), :mod:`~sendlink.synth.population`
(households and pupils), :mod:`~sendlink.synth.npd` (the NPD modules),
:mod:`~sendlink.synth.outcomes` (the planted effects),
:mod:`~sendlink.synth.survey` (sample and answers),
:mod:`~sendlink.synth.consent_events` (permissions and rights requests),
:mod:`~sendlink.synth.corrupt` (how parents report identifiers);
:mod:`~sendlink.synth.scale` writes national-size spines for the linkage
benchmarks; :mod:`~sendlink.synth.report` sets the generated figures
against the published ones (notebook 1). The ``synth:`` parameters are
:class:`sendlink.params.synth.SynthParams`.
"""
