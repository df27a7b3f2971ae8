"""Allow ``python -m sendlink``."""

from sendlink.cli import main

raise SystemExit(main())
