"""OV in factors (circuits/ov.py): the virtual weight equals what the model's own v and output
projections (and the norms between them and the next hidden state) make of one unit of a read
factor; the ablation drop is exactly zero for a head whose W_O slice is zeroed, nonzero for the
others, and equals the drop measured on a copy of the model with that head's W_O zeroed."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from scipy import sparse
from test_circuits_common import FAMILIES, LLAMA_LIKE, POST_NORM, every_pair, fitted_to, perturbed, synthetic_factors, tiny, unnormalised

from tfvis_site.analysis.circuits.common import SampleCodes, StoreTokens, factor_offset, sample_codes
from tfvis_site.analysis.circuits.ov import CleanRuns, ablation_drops, ov_in_factors, ov_weights, top_ov_pairs
from tfvis_site.analysis.circuits.weights import family_of, model_weights


def linear_part(norm, v: torch.Tensor) -> torch.Tensor:
    """A norm module's output with its per-token division set to 1 and its bias removed."""
    from test_circuits_common import sigma

    return sigma(norm, v) * (norm(v) - norm(torch.zeros_like(v)))


def write_norms(kind: str, model, layer: int) -> list:
    n_layers = model.config.num_hidden_layers
    if kind in POST_NORM:
        block = model.encoder.layer[layer]
        return [block.attention.output.LayerNorm, block.output.LayerNorm]
    if kind == "gpt2" and layer == n_layers - 1:
        return [model.ln_f]
    if kind in LLAMA_LIKE and layer == n_layers - 1:
        return [model.norm]
    return []


def direct_ov(kind: str, model, result, layer: int, head: int) -> np.ndarray:
    """(m, m) [read j, written i] from the modules: v of offset + scale ⊙ φ_j minus v of the
    offset (norm division set to 1), through the output projection (and LayerScale, the norms
    after it), in the next layer's standardised units, dotted with φ_i."""
    offset = factor_offset(result, layer)
    x = torch.from_numpy((offset + result.scale[layer] * result.components).astype(np.float32))
    _, _, v = unnormalised(kind, model, layer, x)
    _, _, v0 = unnormalised(kind, model, layer, torch.from_numpy(offset[None].astype(np.float32)))
    n_heads, n_kv, d_head = model.config.num_attention_heads, v.shape[1], v.shape[2]
    z = torch.zeros(len(x), n_heads * d_head)
    z[:, head * d_head : (head + 1) * d_head] = (v - v0)[:, head // (n_heads // n_kv)]
    proj = family_of(model).output_projection(model, layer)
    out = proj(z) - proj(torch.zeros_like(z))
    if kind == "dinov2":
        out = model.encoder.layer[layer].layer_scale1(out)
    for norm in write_norms(kind, model, layer):
        out = linear_part(norm, out)
    out = out.double().detach().numpy() / result.scale[layer + 1]
    return out @ result.components.astype(np.float64).T


@pytest.mark.parametrize("kind", FAMILIES)
def test_virtual_weights_equal_the_models_own_projections(kind):
    model = tiny(kind)
    w = model_weights(model)
    result = synthetic_factors(32, w.n_layers + 1)
    m = result.n_components
    for layer in range(w.n_layers):
        for head in (0, w.layers[layer].n_heads - 1):
            expected = direct_ov(kind, model, result, layer, head)
            got = ov_weights(w.layers[layer], result, head, every_pair(m)).reshape(m, m)
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
            pairs, weights = top_ov_pairs(w.layers[layer], result, head, top=20, block=7)
            order = np.argsort(-expected, axis=None, kind="stable")[:20]
            np.testing.assert_array_equal(pairs, np.stack(np.unravel_index(order, (m, m)), 1))
            np.testing.assert_allclose(weights, expected.ravel()[order], rtol=1e-4, atol=1e-5)


def zero_W_O(kind: str, model, layer: int, head: int, d_head: int) -> None:
    """Set head ``head``'s slice of block ``layer``'s output projection to zero, in place."""
    proj = family_of(model).output_projection(model, layer)
    cols = slice(head * d_head, (head + 1) * d_head)
    with torch.no_grad():
        if kind == "gpt2":  # Conv1D: weight (in, out)
            proj.weight[cols, :] = 0
        else:
            proj.weight[:, cols] = 0


@pytest.mark.parametrize("kind", ["bert", "gpt2", "llama"])
def test_ablation_drop_is_zero_exactly_for_a_head_that_writes_nothing(kind, stores, tiny_checkpoints):
    from tfvis_site.modality import TEXT
    from tfvis_site.model.load import load_model

    store = stores[kind]
    model = perturbed(load_model(tiny_checkpoints[kind], modality=TEXT).model)
    family, w = family_of(model), model_weights(model)
    layer, dead = 0, 1
    zero_W_O(kind, model, layer, dead, w.layers[0].d_head)
    result = fitted_to(synthetic_factors(32, store.info.n_layers + 1, seed=4), store)
    units = StoreTokens(store)
    heads = ov_in_factors(model, family, model_weights(model).layers[layer], units, store, result, top=20, n_random=20, batch_size=4)
    assert len(heads) == store.info.n_heads
    dead_head = heads[dead]
    assert np.isfinite(dead_head.drops).any() and np.isfinite(dead_head.random_drops).all()
    assert np.all(dead_head.drops[np.isfinite(dead_head.drops)] == 0) and np.all(dead_head.random_drops == 0)
    assert dead_head.top_pairs_drop == 0 and dead_head.random_pairs_drop == 0
    for h in heads:
        if h.head != dead:
            assert np.nanmax(np.abs(np.concatenate([h.drops, h.random_drops]))) > 1e-6


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
@pytest.mark.parametrize("layer", [0, 1])
def test_ablation_drop_equals_a_copy_with_the_head_removed(kind, layer, stores, tiny_checkpoints):
    """The hook's drop (the ablated run starting from the clean hidden state l, block l alone)
    equals full runs of the model minus a deep copy of it whose W_O slice is zeroed, averaged by
    hand over the tokens of the sentences where the read factor is active."""
    from tfvis_site.modality import TEXT
    from tfvis_site.model.load import load_model

    store = stores[kind]
    model = perturbed(load_model(tiny_checkpoints[kind], modality=TEXT).model)
    d_head, head = 8, 2
    removed = copy.deepcopy(model)
    zero_W_O(kind, removed, layer, head, d_head)
    result = fitted_to(synthetic_factors(32, store.info.n_layers + 1, seed=5), store)
    codes = sample_codes(store, result, layer)
    active = np.unique(codes.codes.indices)
    pairs = np.array([[active[0], 3], [active[-1], 7], [active[1], active[1]]])
    drops, counts = ablation_drops(model, family_of(model), StoreTokens(store), codes, result, head, d_head, pairs, batch_size=3)
    assert np.abs(drops).max() > 1e-4
    for (j, i), drop, count in zip(pairs, drops, counts):
        sentences = [s for s in range(store.n_sentences) if codes.sentence(s)[:, j].toarray().max() > 0]
        assert count == len(sentences) > 0
        diffs = []
        for s in sentences:
            ids = torch.tensor(StoreTokens(store).ids[store.sentence_offsets[s] : store.sentence_offsets[s + 1]])[None]
            with torch.no_grad():
                a = model(ids, output_hidden_states=True).hidden_states[layer + 1][0].numpy()
                b = removed(ids, output_hidden_states=True).hidden_states[layer + 1][0].numpy()
            diffs.append(result.encode(a, layer + 1)[:, i] - result.encode(b, layer + 1)[:, i])
        assert drop == pytest.approx(np.concatenate(diffs).mean(), abs=1e-4)


@pytest.mark.parametrize("kind", ["bert", "gpt2", "llama"])
def test_clean_runs_walked_block_by_block_equal_full_passes(kind, stores, tiny_checkpoints):
    """CleanRuns carried through the blocks in order runs one block per step; what it holds at
    each block equals the model's own hidden states of a full pass on each sentence alone, and
    the OV drops made with it equal those made with fresh clean runs for that block."""
    from tfvis_site.modality import TEXT
    from tfvis_site.model.load import load_model

    store = stores[kind]
    model = perturbed(load_model(tiny_checkpoints[kind], modality=TEXT).model)
    family, w, units = family_of(model), model_weights(model), StoreTokens(store)
    result = fitted_to(synthetic_factors(32, store.info.n_layers + 1, seed=7), store)
    sentences = np.arange(store.n_sentences)
    walked = CleanRuns(model, family, units, sentences, batch_size=3)
    lengths = np.diff(store.sentence_offsets)
    assert [lengths[b].tolist() for b in walked.batches] != [lengths[b].tolist() for b in np.array_split(sentences, len(walked.batches))]
    for lw in w.layers:
        walked_ov = ov_in_factors(model, family, lw, units, store, result, top=5, n_random=5, batch_size=3, clean=walked)
        assert walked.layer == lw.layer
        fresh_ov = ov_in_factors(model, family, lw, units, store, result, top=5, n_random=5, batch_size=3)
        for a, b in zip(walked_ov, fresh_ov):
            np.testing.assert_allclose(a.drops, b.drops, atol=1e-5)
            np.testing.assert_allclose(a.random_drops, b.random_drops, atol=1e-5)
        for b, batch in enumerate(walked.batches):
            for r, position in enumerate(batch):
                s = walked.sentences[position]
                ids = torch.tensor(units.ids[store.sentence_offsets[s] : store.sentence_offsets[s + 1]])[None]
                with torch.no_grad():
                    hidden = model(ids, output_hidden_states=True).hidden_states
                n = int(walked.lengths[b][r])
                np.testing.assert_allclose(walked.x[walked.rows[int(position)]].numpy(), hidden[lw.layer][0].numpy(), atol=1e-4)
                np.testing.assert_allclose(walked.after[b][r, :n].numpy(), hidden[lw.layer + 1][0].numpy(), atol=1e-4)
                clean = result.encode(hidden[lw.layer + 1][0].numpy(), lw.layer + 1)
                np.testing.assert_allclose(walked.codes[walked.rows[int(position)]].toarray(), clean, atol=1e-4)


class PixelUnits:
    """Seeded random images as the model inputs of 'sentences' 0..n-1 (an image store's units)."""

    def __init__(self, n: int):
        self.pixels = torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        self.lengths = np.full(n, 17)

    def model_inputs(self, batch):
        return {"pixel_values": self.pixels[np.asarray(batch)]}


def test_ablation_on_a_vit():
    model = tiny("dinov2")
    family, w = family_of(model), model_weights(model)
    result = synthetic_factors(32, 3, seed=6)
    rng = np.random.default_rng(0)
    codes = sparse.csr_matrix(rng.random((6 * 17, 24)) * (rng.random((6 * 17, 24)) < 0.1))
    sample = SampleCodes(1, codes, np.arange(7) * 17, np.arange(6))
    zero_W_O("dinov2", model, 1, 3, 8)
    pairs = np.array([[j, i] for j in np.unique(codes.indices)[:5] for i in (0, 5)])
    for head in (3, 0):
        drops, counts = ablation_drops(model, family, PixelUnits(6), sample, result, head, 8, pairs, batch_size=4)
        assert (counts > 0).all()
        assert (drops == 0).all() if head == 3 else np.abs(drops).max() > 1e-6
    # the clean codes, made token by token after the attention (Family.after_attention), are the
    # codes of the model's own hidden state 2
    clean = CleanRuns(model, family, PixelUnits(6), np.arange(6), batch_size=4).at(1, result)
    with torch.no_grad():
        hidden = model(pixel_values=PixelUnits(6).pixels, output_hidden_states=True).hidden_states[2]
    for image in range(6):
        expected = result.encode(hidden[image].numpy(), 2)
        np.testing.assert_allclose(clean.codes[clean.rows[image]].toarray(), expected, atol=1e-4)
