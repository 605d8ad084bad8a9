"""Co-occurring false alarms (issue 9 point 5): false alarms that sit on another class's true onset."""

from __future__ import annotations

import numpy as np

from drumscribe.evaluation.metrics import OnsetScorer, add_cooccurrence, cooccurring_false_alarms, false_alarms

NAMES = ["kick", "snare", "hihat", "crash"]


def test_false_alarms_are_the_unmatched_estimates():
    ref = np.array([1.0, 2.0, 3.0])
    est = np.array([1.01, 2.2, 3.04, 5.0])
    np.testing.assert_allclose(false_alarms(ref, est, 0.05), [2.2, 5.0])
    np.testing.assert_allclose(false_alarms([], est, 0.05), np.sort(est))
    assert false_alarms(ref, [], 0.05).size == 0


def test_hihat_on_kick_and_snare_is_counted_per_other_class():
    ref = [np.array([0.0, 1.0, 2.0]), np.array([0.5, 1.5]), np.array([0.25, 0.75]), np.array([])]
    # hi-hat: two true hits, plus false alarms on kick 1.0 (+20 ms), kick 2.0 (-40 ms), snare 1.5, and one in the open
    # crash: false alarm on the kick at 0.0 and one 60 ms after the kick at 2.0 (outside the window)
    est = [np.array([0.0, 1.0, 2.0]), np.array([0.5, 1.5]), np.array([0.25, 0.75, 1.02, 1.96, 1.5, 3.0]), np.array([0.01, 2.06])]
    co = cooccurring_false_alarms(ref, est, NAMES, 0.05)
    assert co["hihat"] == {"false_alarms": 4, "on_other": 3, "on": {"kick": 2, "snare": 1, "crash": 0}}
    assert co["crash"] == {"false_alarms": 2, "on_other": 1, "on": {"kick": 1, "snare": 0, "hihat": 0}}
    assert co["kick"]["false_alarms"] == 0 and co["kick"]["on_other"] == 0
    # a false alarm near two other classes' onsets counts once in on_other, once per class in on
    co2 = cooccurring_false_alarms([np.array([1.0]), np.array([1.02]), np.array([]), np.array([])],
                                   [np.array([1.0]), np.array([1.02]), np.array([1.01]), np.array([])], NAMES, 0.05)
    assert co2["hihat"] == {"false_alarms": 1, "on_other": 1, "on": {"kick": 1, "snare": 1, "crash": 0}}


def test_scorer_sums_over_files_and_reports_share():
    ref = [np.array([1.0]), np.array([]), np.array([]), np.array([])]
    est = [np.array([1.0]), np.array([]), np.array([1.0, 4.0]), np.array([])]
    s = OnsetScorer(NAMES, 0.05)
    s.add(ref, est)
    s.add(ref, est)
    co = s.result()["cooccurrence"]
    assert co["hihat"]["false_alarms"] == 4 and co["hihat"]["on_other"] == 2 and co["hihat"]["on"]["kick"] == 2
    assert co["hihat"]["share"] == 0.5
    assert co["snare"]["share"] == 0.0  # no false alarms: share 0, not a division by zero
    total = add_cooccurrence({}, cooccurring_false_alarms(ref, est, NAMES))
    assert total["hihat"]["on_other"] == 1


def test_chance_level_is_the_covered_share_of_the_timeline():
    ref = [np.array([1.0, 1.05, 3.0]), np.array([]), np.array([]), np.array([])]
    est = [np.array([1.0, 1.05, 3.0]), np.array([]), np.array([2.0]), np.array([])]
    co = cooccurring_false_alarms(ref, est, NAMES, 0.05, duration=4.0)
    # kick onsets cover [0.95, 1.10] and [2.95, 3.05]: 0.25 s of 4 s
    assert abs(co["hihat"]["covered_s"] - 0.25) < 1e-9 and co["hihat"]["on_other"] == 0
    assert co["kick"]["covered_s"] == 0.0  # no other class plays
    s = OnsetScorer(NAMES, 0.05)
    s.add(ref, est, duration=4.0)
    assert abs(s.result()["cooccurrence"]["hihat"]["chance"] - 0.0625) < 1e-9


def test_evaluate_table_shows_cooccurrence():
    from drumscribe.evaluation.evaluate import results_tables

    s = OnsetScorer(NAMES, 0.05)
    s.add([np.array([1.0]), np.array([]), np.array([]), np.array([])], [np.array([1.0]), np.array([]), np.array([1.0]), np.array([])])
    res = s.result()
    tables = results_tables(res)
    assert any("another class" in str(t.title) for t in tables)
