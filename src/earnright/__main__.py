"""`python -m earnright` runs the command line."""

from earnright.cli import main

main()
