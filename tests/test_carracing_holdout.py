"""The CarRacing held-out-segment script's fold split: contiguous blocks of every clip, known answers."""

import numpy as np
import pytest
import torch

from studies.carracing_holdout import block_folds


def test_each_fold_holds_out_the_same_contiguous_block_of_every_clip():
    labels = torch.arange(3).repeat_interleave(10)  # 3 clips of 10 frames, stored clip after clip
    masks = block_folds(labels, frames_per_clip=10, folds=5)
    assert len(masks) == 5
    for f, mask in enumerate(masks):
        expected = np.zeros(30, dtype=bool)
        for clip in range(3):
            expected[clip * 10 + 2 * f : clip * 10 + 2 * f + 2] = True
        np.testing.assert_array_equal(mask, expected)
    # every frame is held out exactly once over the folds
    np.testing.assert_array_equal(np.sum(masks, axis=0), np.ones(30))


def test_uneven_blocks_still_cover_every_frame_once():
    labels = torch.arange(2).repeat_interleave(7)
    masks = block_folds(labels, frames_per_clip=7, folds=3)
    np.testing.assert_array_equal(np.sum(masks, axis=0), np.ones(14))
    sizes = [int(m[:7].sum()) for m in masks]
    assert sum(sizes) == 7 and max(sizes) - min(sizes) <= 1
    assert all(m[:7].sum() == m[7:].sum() for m in masks)  # the same block of each clip


@pytest.mark.parametrize("folds", [0, 1, 11])
def test_fold_counts_outside_two_to_clip_length_are_refused(folds):
    with pytest.raises(ValueError, match="folds"):
        block_folds(torch.arange(3).repeat_interleave(10), frames_per_clip=10, folds=folds)
