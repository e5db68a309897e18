"""Densification under a budget: gsplat's DefaultStrategy that stops growing at ``max_gaussians``.

Splatfacto grows without bound: on a real capture the count (and with it the step time) keeps rising
for as long as refinement runs, which a GPU carries and a CPU does not. :class:`BudgetStrategy`
keeps gsplat's rules (duplicate small Gaussians with a high view-space gradient, split large ones
and those above ``grow_scale2d`` on screen) and, when the candidates would take the count past the
budget, grows only the ones with the highest accumulated gradient that fit. Pruning is unchanged,
so the count can fall below the budget and refill at the next refinement.

The budget a model uses (:func:`resolve_max_gaussians`): ``max_gaussians`` when set, else
``cpu_max_gaussians`` on a CPU and no cap on a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Dict, Optional, Tuple, Union

import torch
from gsplat.strategy import DefaultStrategy
from gsplat.strategy.ops import duplicate, split


def resolve_max_gaussians(
    max_gaussians: Optional[int], cpu_max_gaussians: Optional[int], device_type: str
) -> Optional[int]:
    """The Gaussian budget in force: the explicit cap, else the CPU default on a CPU, else None (unbounded)."""
    if max_gaussians is not None:
        return max_gaussians
    return cpu_max_gaussians if device_type == "cpu" else None


def growth_masks(
    grads: torch.Tensor, is_dupli: torch.Tensor, is_split: torch.Tensor, room: int
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Keep the growth candidates with the highest gradient that add at most ``room`` Gaussians.

    Args:
        grads: [N] mean view-space gradient per Gaussian.
        is_dupli, is_split: [N] bool candidate masks; a duplication and a split each add one Gaussian
            (gsplat duplicates, then splits, a Gaussian in both masks: it adds two).
        room: how many Gaussians may still be added (>= 0).

    Returns:
        The two masks restricted to the kept candidates.
    """
    cost = is_dupli.long() + is_split.long()
    if int(cost.sum()) <= room:
        return is_dupli, is_split
    ids = torch.nonzero(cost > 0).squeeze(1)
    # ties (e.g. screen-size splits with equal gradients) go to the lower index: deterministic
    order = ids[torch.argsort(grads[ids], descending=True, stable=True)]
    keep = torch.zeros_like(is_dupli)
    keep[order[torch.cumsum(cost[order], 0) <= room]] = True
    return is_dupli & keep, is_split & keep


@dataclass
class BudgetStrategy(DefaultStrategy):
    """gsplat's DefaultStrategy with growth stopped at ``max_gaussians`` (None: unbounded, as gsplat)."""

    max_gaussians: Optional[int] = None
    """Most Gaussians growth may reach; candidates beyond it are dropped, lowest gradient first."""

    @classmethod
    def from_default(cls, strategy: DefaultStrategy, max_gaussians: Optional[int]) -> "BudgetStrategy":
        """The same strategy (every setting copied) with a budget."""
        settings = {f.name: getattr(strategy, f.name) for f in fields(strategy) if f.init}
        return cls(**settings, max_gaussians=max_gaussians)

    @torch.no_grad()
    def _grow_gs(
        self,
        params: Union[Dict[str, torch.nn.Parameter], torch.nn.ParameterDict],
        optimizers: Dict[str, torch.optim.Optimizer],
        state: Dict[str, Any],
        step: int,
    ) -> Tuple[int, int]:
        if self.max_gaussians is None:
            return super()._grow_gs(params, optimizers, state, step)
        # gsplat 1.4.0's candidate rules (DefaultStrategy._grow_gs), then the budget
        grads = state["grad2d"] / state["count"].clamp_min(1)
        is_grad_high = grads > self.grow_grad2d
        is_small = torch.exp(params["scales"]).max(dim=-1).values <= self.grow_scale3d * state["scene_scale"]
        is_dupli = is_grad_high & is_small
        is_split = is_grad_high & ~is_small
        if step < self.refine_scale2d_stop_iter:
            is_split |= state["radii"] > self.grow_scale2d
        room = max(0, self.max_gaussians - grads.shape[0])
        is_dupli, is_split = growth_masks(grads, is_dupli, is_split, room)
        n_dupli, n_split = int(is_dupli.sum()), int(is_split.sum())
        if n_dupli > 0:
            duplicate(params=params, optimizers=optimizers, state=state, mask=is_dupli)
        # Gaussians added by duplication are not split
        is_split = torch.cat([is_split, torch.zeros(n_dupli, dtype=torch.bool, device=is_split.device)])
        if n_split > 0:
            split(
                params=params, optimizers=optimizers, state=state, mask=is_split, revised_opacity=self.revised_opacity
            )
        return n_dupli, n_split
