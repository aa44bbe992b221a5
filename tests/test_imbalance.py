import numpy as np

from vienna_utils import imbalance


def test_irlbl_and_mean_ir_by_hand():
    Y = np.array([[1, 1, 0], [1, 0, 0], [1, 0, 0], [1, 0, 0]])
    r = imbalance.irlbl(Y)
    assert r[0] == 1 and r[1] == 4 and np.isinf(r[2])
    assert imbalance.mean_ir(Y) == 2.5


def test_counts_per_image_and_cooccurrence():
    Y = np.array([[1, 1], [1, 0], [0, 0]])
    assert imbalance.label_counts(Y, ["a", "b"]).to_dict() == {"a": 2, "b": 1}
    assert imbalance.labels_per_image(Y).to_dict() == {0: 1, 1: 1, 2: 1}
    co = imbalance.cooccurrence(Y, ["a", "b"])
    assert co.loc["a", "b"] == 1 and co.loc["a", "a"] == 2


def test_imbalance_table_sorted_with_titles():
    Y = np.array([[0, 1], [0, 1], [1, 1]])
    t = imbalance.imbalance_table(Y, ["01", "27"])
    assert t.index.tolist() == ["27", "01"]
    assert t.loc["01", "IRLbl"] == 3.0
    assert t.loc["27", "title"] == "Forms of writing, numerals"
