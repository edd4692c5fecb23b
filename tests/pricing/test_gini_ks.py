"""Gini and KS of the score against a hand-computed small example (SPEC §15)."""

from __future__ import annotations

import pytest

from risk.validation import gini_ks


def test_gini_and_ks_match_the_hand_computation():
    # Six loans. Goods score 700, 650, 600, 550; bads score 600 and 500.
    #   Pairs (good, bad): 4 × 2 = 8. Good above bad: vs 500 all four (4); vs 600: 700 and 650 (2), 600 ties (½),
    #   550 below (0). AUC = 6.5 / 8 = 0.8125, Gini = 2·AUC − 1 = 0.625.
    #   Cumulative shares at or below each score (bads | goods): 500: ½ | 0 → gap ½; 550: ½ | ¼ → ¼;
    #   600: 1 | ½ → ½; 650: 1 | ¾ → ¼; 700: 1 | 1 → 0. KS = 0.5.
    pairs = [(700, False), (650, False), (600, False), (550, False), (600, True), (500, True)]

    gini, ks = gini_ks(pairs)

    assert gini == pytest.approx(0.625)
    assert ks == pytest.approx(0.5)


def test_a_perfect_and_a_useless_score():
    assert gini_ks([(800, False), (700, False), (400, True)]) == (pytest.approx(1.0), pytest.approx(1.0))
    assert gini_ks([(600, False), (600, True)]) == (pytest.approx(0.0), pytest.approx(0.0))


def test_without_goods_or_bads_there_is_nothing_to_measure():
    assert gini_ks([(600, False), (650, False)]) == (None, None)
    assert gini_ks([]) == (None, None)
