"""The embedded dataset: trademark-like images whose Vienna labels have the real imbalance.

Label sets are sampled to match real EUIPO figures (``resources/``, measured on
20,000 EUIPO figurative marks, TradeMarks2020 validation labels): the share of
marks per category, the number of categories per mark, and which categories
co-occur. Each category has its own visual elements, drawn with PIL from
shapes and from symbol glyphs of the fonts that ship with matplotlib (DejaVu,
STIX). Category 29 follows the real rule: marks in colour carry it,
black-and-white marks do not. ``data/README.md`` lists the elements.

Modules, in the order the data flows:

- :mod:`.labels`: label sets with the real prevalences and co-occurrences; the real figures.
- :mod:`.fonts`, :mod:`.geometry`: fonts and point lists the drawers use.
- :mod:`.elements` (drawers in :mod:`.elements_01_13`, :mod:`.elements_14_99`): each category's elements.
- :mod:`.render`: one image from a set of categories.
- :mod:`.build`: the dataset folder and the command line.

Run ``python -m vienna_utils.synthetic`` to build the current profile's dataset.
"""
from .build import FORMAT_VERSION, dataset_dir, ensure_dataset, make_dataset
from .elements import ELEMENTS
from .fonts import LETTER_FONTS, SCRIPTS, SYMBOL_FONT, TEXT_FONTS
from .labels import FIGURES_SOURCE, compare_with_real, real_figures, sample_label_sets
from .render import render_mark

__all__ = ["FIGURES_SOURCE", "real_figures", "compare_with_real", "sample_label_sets", "ELEMENTS", "render_mark",
           "make_dataset", "dataset_dir", "ensure_dataset", "FORMAT_VERSION", "SYMBOL_FONT", "LETTER_FONTS",
           "TEXT_FONTS", "SCRIPTS"]
