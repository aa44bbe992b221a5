"""``python -m vienna_utils.synthetic``: build the current profile's embedded dataset."""
from .build import main

main()
