"""Phases of one step that share a forward pass (gane.families.sharing).

A phase that computes G(z) or E(x) with a graph and leaves it on the batch for a later
phase must give that phase exactly the loss and gradients it would get by running the
forward pass again on the same inputs; and nothing a phase leaves on the batch may
survive the step.
"""
from __future__ import annotations

import copy

import pytest
import torch

from gane.config import resolve
from gane.data import load_data
from gane.families import FAMILIES, generative_families

TINY = {"z_dim": 4, "width": 0.125}

# (family, options, producing phase, phase that takes the shared tensors). Dropout 0 in D, so
# that the only random numbers between the two are the codes the producing phase draws, which
# the reference draws again from the same generator state; a consumer in CONSUMER_DRAWS draws
# its own codes (and nothing it shares needs random numbers), so the reference starts from the
# generator state the consumer starts from.
EXACT = [
    ("gan", {}, "D", "G"),
    ("gan", {"conditional": True}, "D", "G"),
    ("acgan", {}, "D", "G"),
    ("infogan", {}, "D", "G"),
    ("ebgan", {}, "D", "G"),
    ("bigan", {"dropout": 0.0}, "D", "EG"),
    ("bigan", {"dropout": 0.0, "stochastic": True, "conditional": True}, "D", "EG"),
    ("bigbigan", {"dropout": 0.0}, "D", "EG"),
    ("aae", {}, "D", "E"),
    ("aae", {"schedule": "joint"}, "D", "EG"),
    ("alphagan", {}, "D", "EG"),
    ("stylegan", {}, "D", "G"),
]
CONSUMER_DRAWS = {"alphagan"}  # E and G's phase draws fresh prior samples, not D's


def _model(family, opts, spec):
    data = load_data(spec)
    torch.manual_seed(0)
    model = FAMILIES.get(family)(resolve(family, data=spec, **TINY, **opts).model, data.info).train()
    return model, data


def _run(model, phase, batch, step=True):
    """One phase as the trainer runs it: only its modules require grad; Adam-free SGD step."""
    model.zero_grad(set_to_none=True)
    model.requires_grad_(False)
    for name in phase.modules:
        getattr(model, name).requires_grad_(True)
    loss, _ = phase.loss(batch)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    if step:
        with torch.no_grad():
            for p in model.parameters():
                if p.grad is not None:
                    p.sub_(0.1 * p.grad)
    return loss.detach(), grads


# Each on every kind of data its family trains on.
EXACT_KINDS = [(*case, kind) for case in EXACT for kind in ("vector", "image") if kind in FAMILIES.get(case[0]).data_kinds]


@pytest.mark.parametrize("family,opts,producer,consumer,kind", EXACT_KINDS, ids=lambda v: v if isinstance(v, str) else None)
def test_shared_forward_pass_gives_the_recomputed_loss_and_gradients(family, opts, producer, consumer, kind, image_npz, vector_npz):
    spec = f"npz:{image_npz if kind == 'image' else vector_npz}"
    model, data = _model(family, opts, spec)
    phases = {p.name: p for p in model.phases()}
    batch = data.take(8)
    order = [p.name for p in model.phases()]
    for name in order[: order.index(producer)]:
        _run(model, phases[name], batch)
    rng = torch.get_rng_state()
    _run(model, phases[producer], batch)  # updates only the producer's modules, leaves tensors for the consumer
    for name in order[order.index(producer) + 1 : order.index(consumer)]:
        _run(model, phases[name], batch)
    assert consumer in batch.shared, f"{family}'s {producer} phase left nothing for its {consumer} phase"

    # The reference: the same model, the same state, no shared tensors: the consumer runs the forward pass
    # again, drawing its codes from the generator state the producer drew them from.
    reference = copy.deepcopy(model)
    ref_batch = type(batch)(batch.x, batch.y)
    after = torch.get_rng_state()
    torch.set_rng_state(after if family in CONSUMER_DRAWS else rng)
    ref_loss, ref_grads = _run(reference, {p.name: p for p in reference.phases()}[consumer], ref_batch, step=False)
    torch.set_rng_state(after)

    loss, grads = _run(model, phases[consumer], batch, step=False)
    assert torch.equal(loss, ref_loss), (loss, ref_loss)
    assert grads.keys() == ref_grads.keys() and grads
    for name in grads:
        assert torch.equal(grads[name], ref_grads[name]), f"{family}: gradient of {name} differs from the recomputed one"


@pytest.mark.parametrize("family", generative_families())
def test_nothing_shared_survives_the_step(family, vector_npz, image_npz):
    spec = f"npz:{vector_npz if family in generative_families('vector') else image_npz}"
    model, data = _model(family, {}, spec)
    batch = data.take(8)
    for phase in model.phases():
        _run(model, phase, batch)
    assert batch.shared == {}, f"{family} left {sorted(batch.shared)} on the batch after its last phase"


def test_every_step_gets_a_new_batch(vector_npz):
    """What a phase leaves on a batch cannot reach the next step: the trainer's batches are new objects."""
    from gane.data import EpochSampler

    data = load_data(f"npz:{vector_npz}")
    batches = data.batches(EpochSampler(len(data), 8, 0), torch.device("cpu"))
    first = next(batches)
    first.shared["G"] = {"x_fake": torch.zeros(1)}
    assert next(batches).shared == {}


def test_vaegan_updates_come_from_one_forward_pass(vector_npz):
    """VAE-GAN (Larsen et al. 2016, Algorithm 1): G decodes the z that E's phase drew, and D scores
    the very x~ and x_p G's phase was trained on."""
    model, data = _model("vaegan", {}, f"npz:{vector_npz}")
    phases = {p.name: p for p in model.phases()}
    batch = data.take(8)
    _run(model, phases["E"], batch)
    z = batch.shared["G"]["z"]
    decoded = []
    hook = model.G.register_forward_hook(lambda m, inputs, out: decoded.append((inputs[0], out.detach())))
    _run(model, phases["G"], batch)
    hook.remove()
    assert torch.equal(decoded[0][0], z)  # G's phase decodes E's posterior sample
    fakes = batch.shared["D"]["fakes"]
    assert torch.equal(fakes, torch.cat([decoded[0][1], decoded[1][1]]))  # x~ then x_p, as G produced them
    _run(model, phases["D"], batch)
    assert batch.shared == {}


def test_alphagan_eg_scores_fresh_samples_and_d_s_reconstructions(vector_npz):
    """alpha-GAN's E and G step takes z_hat and the reconstructions D's step decoded, but draws its
    own prior samples: G is not trained on the very samples D has just learnt to reject."""
    model, data = _model("alphagan", {}, f"npz:{vector_npz}")
    phases = {p.name: p for p in model.phases()}
    batch = data.take(8)
    scored, scores = [], model.D.scores

    def recording_scores(x, *rest, **kw):
        scored.append(x.detach().clone())
        return scores(x, *rest, **kw)

    model.D.scores = recording_scores
    _run(model, phases["D"], batch)
    shared_rec = batch.shared["EG"]["x_rec"].detach().clone()
    _run(model, phases["C"], batch)
    _run(model, phases["EG"], batch)
    assert torch.equal(scored[0], batch.x)  # D's step scores the reals, then the fakes; E and G's step the fakes
    fakes_d, fakes_eg = scored[1], scored[-1]
    n = len(batch.x)
    assert torch.equal(fakes_d[:n], shared_rec) and torch.equal(fakes_eg[:n], shared_rec)
    assert not torch.allclose(fakes_d[n:], fakes_eg[n:])  # new prior samples
    assert batch.shared == {}
