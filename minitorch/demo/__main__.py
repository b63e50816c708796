"""`python -m minitorch.demo`: run the demo (see `minitorch.demo.cli`)."""

from .cli import main

raise SystemExit(main())
