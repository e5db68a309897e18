"""Densification under a budget: gsplat's DefaultStrategy that stops growing at ``max_gaussians``, with
screen-size thresholds that have a floor in pixels.

Splatfacto grows without bound: on a real capture the count (and with it the step time) keeps rising
for as long as refinement runs, which a GPU carries and a CPU does not. :class:`BudgetStrategy`
keeps gsplat's rules (duplicate small Gaussians with a high view-space gradient, split large ones
and those above ``grow_scale2d`` on screen) and, when the candidates would take the count past the
budget, grows only the ones with the highest accumulated gradient that fit. Pruning is unchanged,
so the count can fall below the budget and refill at the next refinement.

The budget a model uses (:func:`resolve_max_gaussians`): ``max_gaussians`` when set, else
``cpu_max_gaussians`` on a CPU and no cap on a GPU.

The screen-size rules (split above ``grow_scale2d``, prune above ``prune_scale2d`` of the image) use
thresholds of at least ``min_grow_radius_px`` / ``min_prune_radius_px`` pixels of the last render
(:func:`screen_size_thresholds`); the render size comes with gsplat's meta, so the model never
rewrites the strategy's settings.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Dict, Optional, Tuple, Union

import torch
from gsplat.strategy import DefaultStrategy
from gsplat.strategy.ops import duplicate, remove, split


def resolve_max_gaussians(
    max_gaussians: Optional[int], cpu_max_gaussians: Optional[int], device_type: str
) -> Optional[int]:
    """The Gaussian budget in force: the explicit cap, else the CPU default on a CPU, else None (unbounded)."""
    if max_gaussians is not None:
        return max_gaussians
    return cpu_max_gaussians if device_type == "cpu" else None


def screen_size_thresholds(
    split_fraction: float, cull_fraction: float, size_px: int, min_split_px: float, min_cull_px: float
) -> Tuple[float, float]:
    """gsplat's ``grow_scale2d``/``prune_scale2d`` (radius / image size) for a render of ``size_px`` pixels.

    Until ``refine_scale2d_stop_iter`` gsplat splits every Gaussian whose radius exceeds ``grow_scale2d``
    of the image, whatever its gradient. splatfacto's 5% assumes images of ~1000 px; on a 64 px
    capture rendered at quarter resolution (16 px) it is 0.8 px, below the smallest radius a
    Gaussian can have, so every Gaussian splits at every refinement (2k -> 390k Gaussians in 160
    steps of a 1500-step run). A floor in pixels keeps the rule for large images and disarms it
    for tiny renders.
    """
    return max(split_fraction, min_split_px / size_px), max(cull_fraction, min_cull_px / size_px)


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
    """gsplat's DefaultStrategy with growth stopped at ``max_gaussians`` (None: unbounded, as gsplat) and
    pixel floors under its screen-size thresholds (0: gsplat's fractions as they are)."""

    max_gaussians: Optional[int] = None
    """Most Gaussians growth may reach; candidates beyond it are dropped, lowest gradient first."""
    min_grow_radius_px: float = 0.0
    """Screen-size splitting needs a radius of at least this many pixels as well as ``grow_scale2d``."""
    min_prune_radius_px: float = 0.0
    """Likewise for screen-size pruning and ``prune_scale2d``."""

    @classmethod
    def from_default(
        cls,
        strategy: DefaultStrategy,
        max_gaussians: Optional[int],
        min_grow_radius_px: float = 0.0,
        min_prune_radius_px: float = 0.0,
    ) -> "BudgetStrategy":
        """The same strategy (every setting copied) with a budget and pixel floors."""
        settings = {f.name: getattr(strategy, f.name) for f in fields(strategy) if f.init}
        settings.update(
            max_gaussians=max_gaussians, min_grow_radius_px=min_grow_radius_px, min_prune_radius_px=min_prune_radius_px
        )
        return cls(**settings)

    def scale2d_thresholds(self, state: Dict[str, Any]) -> Tuple[float, float]:
        """(grow, prune) screen-size thresholds for the last render's size (``state["render_size_px"]``)."""
        size = state.get("render_size_px")
        if not size:
            return self.grow_scale2d, self.prune_scale2d
        return screen_size_thresholds(
            self.grow_scale2d, self.prune_scale2d, size, self.min_grow_radius_px, self.min_prune_radius_px
        )

    def _update_state(
        self,
        params: Union[Dict[str, torch.nn.Parameter], torch.nn.ParameterDict],
        state: Dict[str, Any],
        info: Dict[str, Any],
        packed: bool = False,
    ) -> None:
        super()._update_state(params, state, info, packed=packed)
        state["render_size_px"] = int(max(info["width"], info["height"]))  # an int: gsplat's ops leave it be

    @torch.no_grad()
    def _grow_gs(
        self,
        params: Union[Dict[str, torch.nn.Parameter], torch.nn.ParameterDict],
        optimizers: Dict[str, torch.optim.Optimizer],
        state: Dict[str, Any],
        step: int,
    ) -> Tuple[int, int]:
        # gsplat 1.4.0's candidate rules (DefaultStrategy._grow_gs), the floored threshold, then the budget
        grads = state["grad2d"] / state["count"].clamp_min(1)
        is_grad_high = grads > self.grow_grad2d
        is_small = torch.exp(params["scales"]).max(dim=-1).values <= self.grow_scale3d * state["scene_scale"]
        is_dupli = is_grad_high & is_small
        is_split = is_grad_high & ~is_small
        if step < self.refine_scale2d_stop_iter:
            is_split |= state["radii"] > self.scale2d_thresholds(state)[0]
        if self.max_gaussians is not None:
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

    @torch.no_grad()
    def _prune_gs(
        self,
        params: Union[Dict[str, torch.nn.Parameter], torch.nn.ParameterDict],
        optimizers: Dict[str, torch.optim.Optimizer],
        state: Dict[str, Any],
        step: int,
    ) -> int:
        # gsplat 1.4.0's DefaultStrategy._prune_gs with the floored screen-size threshold
        is_prune = torch.sigmoid(params["opacities"].flatten()) < self.prune_opa
        if step > self.reset_every:
            is_too_big = torch.exp(params["scales"]).max(dim=-1).values > self.prune_scale3d * state["scene_scale"]
            if step < self.refine_scale2d_stop_iter:
                is_too_big |= state["radii"] > self.scale2d_thresholds(state)[1]
            is_prune = is_prune | is_too_big
        n_prune = int(is_prune.sum())
        if n_prune > 0:
            remove(params=params, optimizers=optimizers, state=state, mask=is_prune)
        return n_prune
