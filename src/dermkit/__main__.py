"""`python -m dermkit` runs the command line."""

from dermkit.cli import main

main()
