"""`python -m hark.cli`."""
from . import main

main()
