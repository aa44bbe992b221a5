"""The comparison plots: labels in a followable order, differences from the baseline, error bars from seeds."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from vienna_utils import plots  # noqa: E402


def test_per_label_change_plot_draws_differences_in_training_count_order():
    ap = pd.DataFrame({"base": [0.5, 0.2, 0.1], "other": [0.6, 0.1, 0.1]}, index=["01", "02", "03"])
    ax = plots.per_label_change_plot(ap, "base", {"01": 5, "02": 300, "03": 40})
    assert [t.get_text() for t in ax.get_xticklabels()] == ["02 (300)", "03 (40)", "01 (5)"]
    (dots,) = ax.collections
    assert np.allclose(dots.get_offsets()[:, 1], [-0.1, 0.0, 0.1])
    assert len(ax.lines) == 3  # the zero line and the head | medium | tail separators
    plt.close("all")


def test_head_tail_plot_has_error_bars_only_with_several_seeds():
    idx = pd.MultiIndex.from_tuples([("baseline", "frozen"), ("x", "top_blocks")], names=["approach", "mode"])
    table = pd.DataFrame({"head mAP": [0.5, 0.4], "tail mAP": [0.1, 0.2], "head mAP sd": [0.01, np.nan],
                          "tail mAP sd": [0.02, np.nan], "seeds": [3, 1]}, index=idx)
    ax = plots.head_tail_plot(table)
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["frozen (several seeds)", "top_blocks (one seed)"]
    frozen = ax.containers[0]
    assert frozen.has_xerr and frozen.has_yerr
    plt.close("all")
