"""`python -m opskit` runs the CLI."""

from opskit.cli import main

main()
