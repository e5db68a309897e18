"""Labels lifted from the training masks through the clustering (label_lifting.py), on hand-built maps."""

from __future__ import annotations

import numpy as np

from ns_plugins.contrastive_gc.label_lifting import compact_labels, segments_as_clusters, voted_labels


def test_each_segment_takes_the_cluster_covering_most_of_it() -> None:
    # the clustering's object (2) bleeds a pixel into the ground (1); the view's ids are its own (7, 9)
    clusters = np.ones((6, 6), dtype=np.int32)
    clusters[1:5, 1:5] = 2
    segments = np.full((6, 6), 9)
    segments[2:4, 2:4] = 7
    segments[0, :] = 0  # unlabelled row
    voted = segments_as_clusters(clusters, segments)
    assert (voted[2:4, 2:4] == 2).all()
    ring = (segments == 9) & (clusters == 2)
    assert ring.any() and (voted[ring] == 1).all()  # the bled pixels vote for the segment's cluster
    assert (voted[0] == 0).all()


def test_a_segment_no_cluster_claims_votes_for_nothing() -> None:
    clusters = np.zeros((4, 4), dtype=np.int32)
    clusters[:, :2] = 3
    segments = np.ones((4, 4), dtype=np.int64)
    segments[:, 2:] = 2  # this segment shows only pixels with no cluster
    voted = segments_as_clusters(clusters, segments)
    assert (voted[:, :2] == 3).all() and (voted[:, 2:] == 0).all()


def test_majority_wins_and_thin_votes_give_no_object() -> None:
    votes = np.array(
        [
            [0.0, 5.0, 1.0],  # mostly cluster 1
            [0.0, 1.0, 4.0],  # mostly cluster 2
            [0.0, 0.0, 0.0],  # never on a labelled pixel
            [0.0, 0.2, 0.3],  # labelled pixels: 0.5 of the 20 it renders
        ]
    )
    rendered = np.array([6.0, 5.0, 3.0, 20.0])
    assert voted_labels(votes, rendered, 0.1).tolist() == [1, 2, 0, 0]
    assert voted_labels(votes, rendered, 0.0).tolist() == [1, 2, 0, 2]


def test_compact_labels_drops_empty_clusters() -> None:
    labels, old = compact_labels(np.array([0, 4, 2, 4, 0, 2, 7]))
    assert labels.tolist() == [0, 2, 1, 2, 0, 1, 3]
    assert old.tolist() == [2, 4, 7]
