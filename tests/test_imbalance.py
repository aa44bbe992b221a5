import numpy as np
import pytest

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


def test_cooccurrence_equals_pair_by_pair_counts_for_any_dtype_and_block_size(monkeypatch):
    rng = np.random.default_rng(0)
    Y = (rng.random((300, 6)) < [0.5, 0.2, 0.05, 0.0, 0.9, 0.3]).astype(np.uint8)
    labels = list("abcdef")
    rows = Y.tolist()
    want = [[sum(r[a] * r[b] for r in rows) for b in range(6)] for a in range(6)]
    for dtype in (bool, np.uint8, np.int64, np.float32, np.float64):
        co = imbalance.cooccurrence(Y.astype(dtype), labels)
        assert co.to_numpy().tolist() == want and co.to_numpy().dtype == np.int64
    monkeypatch.setattr(imbalance, "_COOC_BLOCK_ELEMENTS", 6 * 7)  # 7 images per block
    assert imbalance.cooccurrence(Y, labels).to_numpy().tolist() == want


def test_cooccurrence_refuses_a_matrix_that_is_not_multi_hot():
    Y = np.array([[1, 0], [0.5, 1]])
    with pytest.raises(ValueError, match=r"row 1, label 'a' holds 0.5"):
        imbalance.cooccurrence(Y, ["a", "b"])
