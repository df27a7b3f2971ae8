"""sendlink: link SEND survey answers to the National Pupil Database, on synthetic data.

The package follows the pipeline stages of DESIGN.md section 3::

    synth -> consent -> link -> quality -> deidentify -> outcomes -> disclosure

Each stage reads files and writes files, so any stage can be rerun and tested
alone. ``config`` knows the paths and ``params.yaml``; ``schema`` holds the
column contracts; ``pipeline`` runs the whole graph; ``cli`` is the command line.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sendlink")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
