"""Attention distance on hand-built attention matrices."""

import numpy as np
import pytest
import torch

from modality_rl.metrics.attention_distance import attention_distance, attention_distance_gap
from modality_rl.probes.activations import pseudo_single_head_attention


def test_identity_attention_has_distance_zero_and_first_token_attention_grows_linearly():
    tokens = 4
    identity = np.eye(tokens)[None, None]  # every query attends to itself
    assert attention_distance(identity)[0] == 0.0
    first = np.zeros((1, 1, tokens, tokens))
    first[..., 0] = 1.0  # every query attends to token 0: distances 0, 1, 2, 3
    assert attention_distance(first)[0] == pytest.approx(1.5)


def test_heads_are_averaged_and_padded_queries_excluded():
    tokens = 3
    attn = np.zeros((1, 2, tokens, tokens))
    attn[0, 0, :, 0] = 1.0  # head 0 looks back to token 0: 0, 1, 2
    attn[0, 1] = np.eye(tokens)  # head 1 looks at itself: 0, 0, 0
    assert attention_distance(attn)[0] == pytest.approx(np.mean([0, 0.5, 1.0]))
    query_mask = np.array([[0, 1, 1]])  # a left-padded first token is not a query
    assert attention_distance(attn, query_mask=query_mask)[0] == pytest.approx(0.75)


def test_split_attention_weights_distances():
    attn = np.zeros((1, 1, 3, 3))
    attn[0, 0, 2] = [0.5, 0.0, 0.5]  # query 2: half on distance 2, half on 0
    attn[0, 0, 0, 0] = attn[0, 0, 1, 1] = 1.0
    assert attention_distance(attn)[0] == pytest.approx(1.0 / 3)


def test_original_method_averages_over_all_entries_of_the_pseudo_head():
    attn = np.zeros((1, 3, 3))
    attn[0, :, 0] = 1.0  # distances 0, 1, 2 each once; mean over all 9 entries
    assert attention_distance(attn, "original")[0] == pytest.approx(3 / 9)


def test_pseudo_head_masks_after_softmax_as_the_released_code_did():
    width, tokens = 2, 3
    query = key = torch.zeros(1, tokens, width)  # q = k = 0: uniform softmax over all keys
    pseudo = pseudo_single_head_attention(query, key)[0]
    assert torch.allclose(pseudo, torch.tril(torch.full((tokens, tokens), 1 / tokens)))
    assert pseudo[0].sum() == pytest.approx(1 / 3)  # rows no longer sum to one


def test_gap_is_absolute_and_shapes_are_checked():
    assert np.array_equal(attention_distance_gap(np.array([1.0, 3.0]), np.array([2.0, 1.0])),
                          [1.0, 2.0])
    with pytest.raises(ValueError, match="heads"):
        attention_distance(np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match="unknown attention distance method"):
        attention_distance(np.zeros((1, 1, 3, 3)), method="median")
