"""BudgetStrategy: gsplat's growth rules, stopped at max_gaussians, highest gradients first."""

from __future__ import annotations

import torch
from gsplat.strategy import DefaultStrategy

from ns_plugins.splat.growth_budget import BudgetStrategy, growth_masks, resolve_max_gaussians


def test_resolve_budget():
    assert resolve_max_gaussians(5000, 100, "cuda") == 5000  # an explicit cap is used as given
    assert resolve_max_gaussians(5000, 100, "cpu") == 5000
    assert resolve_max_gaussians(None, 100, "cpu") == 100
    assert resolve_max_gaussians(None, 100, "cuda") is None
    assert resolve_max_gaussians(None, None, "cpu") is None


def test_growth_masks_keep_highest_gradients():
    grads = torch.tensor([0.9, 0.1, 0.5, 0.7, 0.3])
    dupli = torch.tensor([True, True, False, False, False])
    split = torch.tensor([False, False, True, True, False])
    d, s = growth_masks(grads, dupli, split, room=2)
    assert d.tolist() == [True, False, False, False, False]
    assert s.tolist() == [False, False, False, True, False]
    d, s = growth_masks(grads, dupli, split, room=10)  # room for all: unchanged
    assert torch.equal(d, dupli) and torch.equal(s, split)
    d, s = growth_masks(grads, dupli, split, room=0)
    assert not d.any() and not s.any()
    # a Gaussian both duplicated and split adds two
    d, s = growth_masks(grads, dupli, dupli.clone(), room=1)
    assert not d.any() and not s.any()


def _params(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    params = torch.nn.ParameterDict(
        {
            "means": torch.nn.Parameter(torch.randn(n, 3, generator=g)),
            "scales": torch.nn.Parameter(torch.log(torch.rand(n, 3, generator=g) * 0.2)),
            "quats": torch.nn.Parameter(torch.randn(n, 4, generator=g)),
            "opacities": torch.nn.Parameter(torch.zeros(n)),
        }
    )
    optimizers = {k: torch.optim.Adam([p], lr=1e-3) for k, p in params.items()}
    return params, optimizers


def _grow(strategy, n=200, seed=0):
    params, optimizers = _params(n, seed)
    state = strategy.initialize_state(scene_scale=1.0)
    g = torch.Generator().manual_seed(seed + 1)
    state["grad2d"] = torch.rand(n, generator=g) * 4e-4  # about half above gsplat's 2e-4
    state["count"] = torch.ones(n)
    state["radii"] = torch.rand(n, generator=g) * 0.01
    n_dupli, n_split = strategy._grow_gs(params, optimizers, state, step=1000)
    return params, state, n_dupli, n_split


def test_budget_caps_growth_and_matches_gsplat_without_cap():
    base = DefaultStrategy(verbose=False)
    ref_params, _, ref_d, ref_s = _grow(base)
    unbounded = BudgetStrategy.from_default(base, None)
    params, _, d, s = _grow(unbounded)
    assert (d, s) == (ref_d, ref_s) and params["means"].shape == ref_params["means"].shape
    assert ref_params["means"].shape[0] > 250  # the scene grows a lot without a cap

    capped = BudgetStrategy.from_default(base, 230)
    assert capped.grow_grad2d == base.grow_grad2d and capped.refine_every == base.refine_every
    params, state, d, s = _grow(capped)
    assert params["means"].shape[0] == 230 and d + s == 30
    assert state["grad2d"].shape[0] == 230  # the strategy state follows the parameters
    # already at the budget: nothing grows
    params, _, d, s = _grow(BudgetStrategy.from_default(base, 150))
    assert params["means"].shape[0] == 200 and d == s == 0


def test_model_config_budget_fields():
    from ns_plugins.splat.model import PortableSplatModelConfig

    cfg = PortableSplatModelConfig()
    assert cfg.max_gaussians is None and cfg.cpu_max_gaussians is not None
