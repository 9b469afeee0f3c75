import numpy as np

from posetrack.track.matching import IdCounter, assign_ids, greedy_match


def test_greedy_takes_the_best_pair_first_not_the_best_total():
    # Hungarian would pick (0,1)+(1,0) = 1.6; greedy takes 0.9 first, then the only pair left, (1,1).
    sim = np.array([[0.9, 0.8],
                    [0.8, 0.3]])
    rows, cols = greedy_match(sim, threshold=0.2)
    assert list(zip(rows, cols)) == [(0, 0), (1, 1)]
    rows, cols = greedy_match(sim, threshold=0.5)  # (1,1) = 0.3 is below the threshold: no match
    assert list(zip(rows, cols)) == [(0, 0)]


def test_threshold_is_inclusive_and_zero_never_matches():
    sim = np.array([[0.5, 0.0],
                    [0.0, 0.0]])
    assert list(zip(*greedy_match(sim, 0.5))) == [(0, 0)]
    assert list(zip(*greedy_match(sim, 0.0))) == [(0, 0)]


def test_ties_go_to_the_lower_row_then_column():
    sim = np.full((3, 2), 0.7)
    assert list(zip(*greedy_match(sim, 0.1))) == [(0, 0), (1, 1)]


def test_rectangular_and_empty_matrices():
    sim = np.array([[0.1, 0.6, 0.7, 0.2]])
    assert list(zip(*greedy_match(sim, 0.1))) == [(0, 2)]
    rows, cols = greedy_match(np.zeros((0, 3)), 0.1)
    assert rows.size == cols.size == 0


def test_assign_ids_keeps_matched_ids_and_never_reuses_one():
    counter = IdCounter()
    first = assign_ids(np.zeros(0, np.int64), np.zeros((0, 3)), 0.2, counter)
    np.testing.assert_array_equal(first, [0, 1, 2])
    # Tracks 0, 1, 2; poses: 0 continues track 2, 1 is new, 2 continues track 0; track 1 ends.
    sim = np.array([[0.0, 0.1, 0.9],
                    [0.0, 0.0, 0.0],
                    [0.8, 0.1, 0.0]])
    ids = assign_ids(np.array([0, 1, 2]), sim, 0.2, counter)
    np.testing.assert_array_equal(ids, [2, 3, 0])
    # Track 1 is gone; the next new poses get 4 and 5, never 1.
    ids = assign_ids(np.array([2, 3, 0]), np.zeros((3, 2)), 0.2, counter)
    np.testing.assert_array_equal(ids, [4, 5])


def test_ids_are_unique_per_frame_on_random_matrices():
    rng = np.random.default_rng(0)
    counter = IdCounter(100)
    for _ in range(50):
        t, n = rng.integers(0, 8, 2)
        ids = assign_ids(rng.permutation(100)[:t], rng.random((t, n)), 0.5, counter)
        assert len(set(ids.tolist())) == n
