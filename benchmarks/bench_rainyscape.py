"""RainyScape quality and speed on a synthetic rainy scene (CPU).

    python benchmarks/bench_rainyscape.py --write

One scene (seed, size, views as below) written twice by ``ns-plugins-synth``: with the ``rain``
degradation (thin bright streaks on every training view) and clean. Runs with the same step
budget: (a) splatfacto-portable on the rainy images, (b) rainyscape-small on them,
(c) splatfacto-portable on the clean images (upper bound). Reported: PSNR/SSIM of the clean
held-out views, of the derained training views (rainyscape: its clean render B; the baselines:
their render of the training view) against gt/clean, rainyscape's rain angle estimate against the
true angle, and the median seconds per training step (nerfstudio's timer, last half of the run).
``--other-seeds``: the same three runs on scenes of other seeds (other objects, cameras and rain), so
that a bar is not met on one scene by luck; their gains get a table of their own.
``--write`` replaces this benchmark's section of benchmarks/RESULTS.md.

``--suite`` (with ``--scenes`` to pick some, ``--write`` for its own RESULTS.md section): the variation
suite of issue 16, scenes that vary seed, view count, image size (not square too), blend (additive,
screen, mixed), streak length, width, density, intensity, angle and per-streak jitter, plus rain
composited on the real photos of ../shared/data/blurtea/ (their own photos are the clean truth). Per
scene the rainy baseline and rainyscape-small: derained training-view PSNR/SSIM against the clean
truth, held-out PSNR, rain-angle error, |R - R_true|, s/step; then median and worst. Each scene's
figures go to <work-dir>/suite/<scene>/result.json, so runs of a few scenes at a time add up.

    python benchmarks/bench_rainyscape.py --suite --write --scenes issue16 sparse
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import torch

from bench_common import seconds_per_step, train, write_section

if TYPE_CHECKING:
    from ns_plugins.splat.model import PortableSplatModel

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"

SEED_NOTES = [
    "This table (2026-12-08, stop 37): the preset with its per-pixel training background (config.py). Against the "
    "table before it (2026-12-07, same command and scene seeds): derained training views +3.11 / +2.66 / +2.41 -> "
    "+3.00 / +3.01 / +2.69 dB (mean +2.73 -> +2.90), held-out +2.68 / +2.21 / +2.58 -> +2.54 / +2.10 / +2.46 (mean "
    "+2.49 -> +2.37), angle error at most 2.39 deg; seed 0's mean |R - R_true| 0.0150 -> 0.0186 (the layer clamped to "
    "the photos' top-hats, as `ns-rainyscape-derain` now takes it out; as predicted 0.0192). The rain here is dense "
    "(25% of the pixels, long streaks), where the top-hat bound cuts some true rain: the derained photo (not in this "
    "table) is 26.63 dB with the bound and 26.82 without it on seed 0, 28.72 and 28.97 on seed 1 (0.3 of the width: "
    "26.73, 29.03).",
    "Seed 1's held-out loss in an earlier run (before the summed-histogram rain angle; the run in the table above "
    "gains on it): per held-out view, rainyscape is ahead on 6 of 8, but two views "
    "(19.2 and 17.6 dB vs the baseline's 22.7 and 23.2) look through opaque sky-coloured Gaussians 0.2-0.5 units in "
    "front of the camera, ~0.25 from the nearest training camera: sparse-view floaters that no training view sees "
    "against the ground. The clean-trained upper bound and the rainy baseline grow as many Gaussians near the "
    "cameras (397 / 416 / 680 within 0.4 with opacity > 0.5 for clean / rainy / rainyscape); halving the Gaussians' "
    "L1(B, Y) (`--pipeline.model.clean-l1-weight 0.5`) did not remove them (held-out 23.40 vs the baseline's 22.70, "
    "one view at 15.6 dB).",
]

SUITE_NOTES = [
    "Scenes drawn again with other generator seeds (2026-12-08, stop 37; the suite scene's options with another "
    "`seed`, both methods at this preset, 600 steps, one torch thread, two side by side; render gain / derained photo "
    "gain / held-out difference / angle error): issue16 at seed 13 +3.29 / +4.72 / +3.14 / 0.27 deg (at its own seed "
    "7: +2.58 / +3.52 / +2.04); mixed at seed 7 +0.95 / +1.28 / +0.74 / 1.98 deg, at seed 19 +1.11 / +1.74 / +1.27 / "
    "1.79 deg (at its own seed 11: +1.19 / +2.23 / +1.51). Rain that darkens stays the weak case: on mixed at seed 7 "
    "the derained photo scores 15.4 dB on the dark-rain pixels (6% of them; the render 17.6, the rainy photo 12.0) "
    "and 21.2 on the bright ones (the render 24.0). Tried on the table's runs, not kept: the render in place of the "
    "photo wherever the bounded rain layer exceeds t: photo PSNR with t = 0.02 / 0.1 / 0.2 (the table's photo): heavy "
    "27.03 / 26.83 / 26.46 (25.48), classic 27.95 / 27.90 / 27.97 (27.73), large 30.63 / 30.81 / 30.90 (30.34), but "
    "mixed 24.22 / 24.38 / 24.58 (24.61), sparse 29.88 / 30.12 / 30.38 (30.46), jittery 25.58 / 25.69 / 25.87 "
    "(25.87), blurtea 23.97 / 24.85 / 25.42 (25.94): the worst scenes lose.",
    "The rain taken out of the photos clamped to their top-hats (2026-12-08, stop 37; `photo_rain_layers` in "
    "evaluation.py, `ns-rainyscape-derain --rain-bound-fraction`, default the run's "
    "`--pipeline.model.rain-bound-fraction`, 0.1 in both presets): the derained photo is Y less the layer clamped the "
    "way the Gaussians see it in training, so no rain is taken out where the photo is smooth. Why: the photo on "
    "sparse fell 30.65 -> 29.94 dB with the per-pixel background (the next note), and there the rain layer's mean on "
    "rain-free pixels rose 0.0051 -> 0.0066 (7.4% -> 9.3% of them above 0.02; rain pixels = |Y - clean| > 0.02; Y - R "
    "on rain-free pixels 32.02 -> 30.98 dB, on rain pixels 22.78 -> 22.81): the layer also takes the render's misfit, "
    "which the Gaussians never see (clamped) but Y - R did. On the real photos that misfit is most of the layer's "
    "error (blurtea320: 0.025 on the rain-free 88%). The photo PSNR with the layer as predicted / clamped with a "
    "square of 0.1 / 0.15 / 0.2 / 0.3 of the width (the table's runs): classic 27.77 / 27.73 / 27.89 / 27.90 / 27.91, "
    "issue16 27.21 / 27.26 / 27.31 / 27.32 / 27.34, mixed 24.45 / 24.61 / 24.58 / 24.54 / 24.50, sparse 29.94 / 30.46 "
    "/ 30.31 / 30.27 / 30.24, heavy 27.23 / 25.49 / 26.33 / 26.48 / 26.67, wide45 27.21 / 27.00 / 27.11 / 27.17 / "
    "27.29, large 30.04 / 30.34 / 30.35 / 30.35 / 30.33, jittery 25.48 / 25.87 / 25.80 / 25.79 / 25.72, blurtea 23.58 "
    "/ 25.94 / 25.15 / 24.40 / 23.92, blurtea320 23.51 / 26.08 / 25.06 / 24.06 / 23.70 (0.05: sparse 31.11, blurtea "
    "27.04, but heavy 21.40, classic 25.64). Photo gain over the baseline's render, unclamped -> 0.1: median +3.43 -> "
    "+4.05, worst +1.56 -> +2.23 dB (seed 2: +3.38 / +1.76 -> +4.20 / +1.98); mean |R - R_true| down on 9 of 10 "
    "scenes (blurtea320 0.0291 -> 0.0212, R = 0: 0.0209). It costs heavy (27% of the pixels, streaks up to 3 px wide, "
    "merging into patches wider than the square): 14% of its true rain's energy lies above the 0.1 bound (5% at 0.3; "
    "0.9-4.5% on the other scenes), and its photo falls 1.74 dB (1.88 at seed 2), still +4.17 over the baseline. The "
    "same bound as the training's, not a separate knob: dense rain needs it raised for both (README).",
    "The preset with a per-pixel training background (2026-12-07, stop 37; `background_noise` in both presets, "
    "config.py; the next note): this table. Its rainyscape column holds the runs of that note (every scene trained "
    "with `--pipeline.model.background-noise True` on the command line), its variant `seed2` the same at "
    "`--machine.seed 2`, trained this stop (one torch thread, two side by side); each run's config.yml is the new "
    "preset's (diffed: only where the field's value came from differs). The baseline and clean-trained runs are stop "
    "33's, the baseline's seed-2 runs stop 35's. Against the preset before (the table of stop 35): render median "
    "+1.93 -> +2.18, worst +0.09 -> +0.20 (seed 2: +1.86 / +0.06 -> +1.96 / +0.27); derained photo median +3.30 -> "
    "+3.43, worst +1.67 -> +1.56 (seed 2: +3.81 / +1.36 -> +3.38 / +1.76); held-out median +1.66 -> +1.32, worst "
    "+0.03 -> +0.06 (seed 2: +0.88 / -1.50 -> +1.48 / +0.26; these photo figures with the layer unclamped, as then). "
    "The held-out "
    "bar (never below -0.3 dB) now holds on "
    "every scene at both seeds. sparse, the scene that failed it, at five machine seeds (both methods at each, the "
    "baseline runs of the five-seed note below; held-out difference, the preset before in brackets): 42 +0.06 "
    "(+1.92), 2 +0.77 (-1.50), 3 +1.57 (+2.42), 4 +3.18 (+0.52), 5 +2.55 (+2.15): worst -1.50 -> +0.06, median +1.92 "
    "-> +1.57; its render gain +2.61, +2.25, +2.17, +2.80, +1.67. Still short of a bar: the render's worst gain "
    "(blurtea320 +0.20, +0.27 at seed 2; +1 dB asked), on the real photos where splatfacto trained on the clean "
    "photos gains +0.21 / -0.04 itself.",
    "Tried, not kept (2026-12-08, stop 37): the rain net seeing B over the rainy photo itself where the Gaussians do "
    "not cover a pixel, instead of over mid-grey, so an uncovered pixel leaves it no residual (one run each, against "
    "this table's baseline; render / derained photo / held-out, this table's in brackets): sparse +2.55 / +4.71 / "
    "+0.42 (+2.61 / +5.28 / +0.06), mixed +1.18 / +2.22 / +1.31 (+1.19 / +2.23 / +1.51), jittery +1.69 / +2.82 / "
    "+1.20 (+1.78 / +2.80 / +1.13), issue16 +2.61 / +4.14 / +1.82 (+2.58 / +3.52 / +2.04); mean |R - R_true| 0.0093 / "
    "0.0267 / 0.0159 / 0.0131 against 0.0079 / 0.0266 / 0.0154 / 0.0127: no better rain layer.",
    "A random colour per pixel as the training background (2026-12-07, stop 36; `--pipeline.model.background-noise "
    "True`, new in the shared core, off in every preset then; evaluation keeps splatfacto's fixed colour): a gap "
    "between the Gaussians then shows noise, which D-SSIM punishes as well as L1, instead of one flat colour that can "
    "stand in for a dark streak on a bright sky. Run on the whole suite as a variant (`python "
    "benchmarks/bench_rainyscape.py --suite --steps 600 --reuse --variant noisebg --variant-extra "
    "'--pipeline.model.background-noise True' --jobs 2 --work-dir /tmp/rs`, rainyscape-small only, against the "
    "table's baseline; render gain / derained photo gain / held-out difference, the table's in brackets): classic "
    "+3.89 / +5.47 / +2.71 (+3.90 / +5.59 / +2.51), issue16 +2.64 / +3.13 / +2.40 (+2.28 / +3.23 / +1.70), mixed "
    "+1.30 / +2.16 / +1.58 (+1.19 / +2.20 / +1.61), sparse +2.79 / +4.73 / +0.46 (+2.68 / +5.47 / +1.92), heavy +3.48 "
    "/ +6.00 / +3.33 (+3.42 / +6.04 / +2.97), wide45 +2.80 / +4.98 / +2.50 (+2.75 / +5.17 / +2.32), large +0.48 / "
    "+3.54 / +0.51 (+0.37 / +3.37 / +0.28), jittery +1.70 / +2.46 / +0.82 (+1.59 / +2.59 / +0.70), blurtea +0.30 / "
    "+0.34 / +0.38 (+0.39 / +1.67 / +0.57), blurtea320 +0.25 / +1.78 / +0.14 (+0.09 / +1.68 / +0.03). Render median "
    "+1.93 -> +2.17, worst +0.09 -> +0.25; held-out median +1.66 -> +1.20, worst +0.03 -> +0.14; photo median +3.30 "
    "-> +3.34 but worst +1.67 -> +0.34 (blurtea; angle error at most 2.77 deg). The cause of blurtea's photo: the "
    "rain net fitted Y - B with B over the noise, so it learnt the noise of every partly covered pixel (mean |R - "
    "R_true| 0.0253 -> 0.0335). With the option on, rainyscape now gives the rain net (its loss, its extra updates, "
    "the E-step and the angle estimate) B over a fixed mid-grey instead, and only the Gaussians' loss sees the noise; "
    "every scene trained again that way (one run each, `ns-train rainyscape-small ... "
    "--pipeline.model.background-noise True` into each scene's run folder, scored by the suite's `evaluate`, one "
    "torch thread, two side by side): classic +3.76 / +5.64 / +2.35, issue16 +2.58 / +3.47 / +2.04, mixed +1.19 / "
    "+2.07 / +1.51, sparse +2.61 / +4.76 / +0.06, heavy +3.52 / +5.92 / +3.46, wide45 +2.92 / +5.11 / +2.74, large "
    "+0.42 / +3.39 / +0.27, jittery +1.78 / +2.41 / +1.13, blurtea +0.34 / +1.56 / +0.48, blurtea320 +0.20 / +1.83 / "
    "+0.08: render median **+2.18**, worst +0.20 (the table: +1.93 / +0.09); photo median +3.43, worst +1.56 (+3.30 / "
    "+1.67); held-out median +1.32, worst +0.06 (+1.66 / +0.03). Every bar holds on that seed, and the render's "
    "median passes +2 as well. One run at the second seed on sparse (both methods at `--machine.seed 2`, the seed-2 "
    "baseline of stop 35): render +2.25 dB (27.92 against 25.67), held-out +0.77 (20.74 against 19.97; the preset "
    "then: -1.50). Made the default at stop 37 (the note above).",
    "Where the render's remaining error is on rain that darkens (2026-12-07, stop 36; the table's runs unless named; "
    "splits by gt/depth, sky = infinite depth, and by the rainy photo: rain pixels = |Y - clean| > 0.02, dark or "
    "bright by the sign). On mixed, both methods keep about half of each dark streak that crosses the sky "
    "(least-squares share of Y - clean left in the render: baseline 0.56, rainyscape 0.46, clean-trained 0.01; 2% of "
    "the pixels, 0.26 deep on average), against 0.35 / 0.19 of the bright ones there; on jittery 0.63 / 0.59. What "
    "holds them is holes: pixels of the *training* views whose accumulated opacity is under 0.9 (evaluation shows "
    "splatfacto's dark background there; training a random one, whose mean, 0.5, is darker than the sky, so a hole is "
    "how the Gaussians fit a dark streak on a bright sky where few views see it). On jittery these are 1.8% of "
    "rainyscape's pixels and 29% of its squared error (baseline 3.2% / 16%, clean-trained 2.2% / 16%; the signed "
    "layer from 60% of the run, below, 2.4% / 40%); rendered over mid-grey its render goes 24.45 -> 25.37 dB "
    "(baseline 22.98 -> 23.33). Not the near-camera pruning: without it (`--pipeline.model.near-camera-prune 0`, both "
    "methods) 1.7% / 27% and 3.4% / 16%. Tried, not kept (rainyscape-small, one run each, one torch thread, two side "
    "by side; render gain / derained photo gain / held-out difference against the table's baseline; the preset re-run "
    "this way: classic +3.89 / +5.55 / +2.09, mixed +1.11 / +2.26 / +1.30, the table's +3.90 / +5.59 / +2.51 and "
    "+1.19 / +2.20 / +1.61): (a) a coverage loss on the training views, weight x mean(1 - accumulation): weight 1 "
    "closes the holes (jittery 0.3% of the pixels, sky 23.71 -> 25.52 dB) but costs the rest of the scene (24.73 -> "
    "23.22): jittery +0.72 / +1.51 / +0.19, classic +2.80 / +4.97 / +0.73, mixed +1.04 / +1.69 / +0.84, issue16 +1.40 "
    "/ +2.69 / +0.53; weight 0.1: jittery +1.80 / +2.63 / +0.69, classic +3.50 / +5.30 / +1.98, mixed +1.52 / +2.62 / "
    "+2.24, issue16 +2.73 / +4.06 / +1.82, sparse +3.10 / +5.67 / +0.63, heavy +3.50 / +6.23 / +3.41, wide45 +2.44 / "
    "+5.21 / +2.44; only below 0.9, weight 0.3 x mean(max(0.9 - accumulation, 0)): classic +3.89 / +5.99 / +1.52, "
    "mixed +1.66 / +2.67 / +1.65, issue16 +3.13 / +3.84 / +0.17, sparse +2.45 / +4.67 / +0.35. The render gains on "
    "the darkening and screen scenes, but the held-out views lose 0.5-1.5 dB on classic, issue16 and sparse (per "
    "held-out view on issue16 the runs differ by up to 5 dB on single views; with the 0.9 hinge the held-out views "
    "have as many pixels under 0.9 as before: 1.7-5.2% a view against 2.0-5.2%), so the held-out bar, the one that "
    "already fails at a second seed, would fail at the first. (b) A penalty on the render's dark streaks along the "
    "rain angle (`dark_streaks` of B, the measure the derained photo fills): weight 1 mixed +1.36 / +2.34 / +1.01, "
    "classic +3.65 / +5.54 / +2.54; weight 3 mixed +0.43, classic +0.86 / +4.36 / -0.07 (it erases the scene's own "
    "thin dark lines along the rain, as the fill inside training did). (c) The signed layer "
    "(`--pipeline.model.predictor.darkening True`) switched on only from 60% of the run, after B has fitted the "
    "scene's own dark lines: mixed +1.80 / +2.11 / +1.97, classic +3.88 / +6.16 / +2.13, issue16 +1.99 / +3.86 / "
    "+1.90, jittery +0.74 / +1.43 / +1.21 (jittery's sky: rain-free sky pixels 25.61 -> 22.41 dB, more holes). (d) "
    "The authors' `--pipeline.model.rain-loss-reaches-gaussians True` (the rain likelihood, TV and direction terms "
    "train B too): mixed -3.99 / -3.01 / -4.00.",
    "blurtea320 (new, 2026-12-07, stop 35): the real photos at the size they ship in (images_4, 320x180), rain 10-40 "
    "px long and 1-2.5 px wide; trained fresh (the other rows are stop 33's runs). The render cannot show a gain "
    "here: splatfacto trained on the clean photos scores 21.63 dB on its own training views, below the rainy "
    "baseline (21.68) and below the rainy photos themselves (21.95): 32 views average the rain away, and what "
    "is left is the per-view camera shake no 3D scene can fit. rainyscape does find the rain: on the rain pixels "
    "(|Y - clean| > 0.02, 12%) its layer holds 98% of the true rain and B none of it (least-squares shares; 92% "
    "and 2% on the 96x54 blurtea scene), and the derained photos gain +1.68 dB. Its mean |R - R_true| (0.029) "
    "is above R = 0's (0.021) because on the rain-free 88% of the pixels R averages 0.025, the render's misfit "
    "of the shake (the Gaussians see it clamped: 0.017). A stage-2 step at this size costs 0.83 s against the "
    "baseline's 0.12 (6.8x; 3.2x at 64x64): the rain net's 8 updates and 5 Langevin steps run on every pixel "
    "(profiled on the trained model: one rain-net update 0.05 s, the E-step 0.14 s, the top-hat bound 0.01 s). "
    "Cheaper settings on this scene (single runs, two side by side with one thread each; render gain / photo "
    "gain / held-out difference against the table's baseline, the preset +0.09 / +1.68 / +0.03): "
    "`--pipeline.model.rain-updates 4` +0.08 / +1.82 / +0.02, `--pipeline.model.langevin-steps 0` -0.02 / "
    "+1.80 / -0.07; each saves about 0.15 s of the step by the profile. Not made the default: one scene, one run "
    "each, and the small scenes chose 8 updates (config.py).",
    "Dark streaks measured on Y - R (2026-12-07, stop 35; the table's runs are stop 33's, scored again with "
    "`--reuse`: only the derained photo column changed). Stop 34 scored the dark streaks on the photo Y itself, "
    "where the gap between two bright streaks is a thin dark line along the rain too, and the fill lifted it "
    "towards a render that kept some of their rain. Measured on Y - R instead, per scene (on Y -> on Y - R): "
    "classic 27.54 -> 27.73, issue16 26.91 -> 26.98, mixed 24.58 -> 24.59, sparse 30.63 -> 30.65, heavy 27.23 -> "
    "27.36, wide45 27.15 -> 27.28, large 29.78 -> 30.02, jittery 25.64 -> 25.66, blurtea 23.58 -> 23.69 dB: up on "
    "every scene; photo gain median +3.17 -> +3.37, worst +1.57 -> +1.67 (blurtea). Tried, not kept: the same fill "
    "inside training (stage 2 lifts the Gaussians' targets, both L1 terms and D-SSIM, towards B by the dark-streak "
    "depth of Y - R, at most B - (Y - R); a knob since removed), render gain / held-out against the table's "
    "baseline: classic +3.90 -> +3.11 / 22.29 -> 21.82 dB, issue16 +2.28 -> +1.51 / 23.53 -> 22.95, mixed +1.19 "
    "-> +2.24 / 23.26 -> 23.77, jittery +1.59 -> +1.52 / 20.44 -> 20.70 (scored on Y itself: classic +2.61, "
    "issue16 +1.34, mixed +2.22, jittery +1.67). Why it costs the bright-rain scenes (classic, the run with it "
    "against the table's): the lift exceeds 0.02 on 8% of the rain-free pixels (5% in the table's run, scored the "
    "same way), where B is too bright by 0.06 on average. There Y - R is the truth, so the lift takes the scene's "
    "own thin dark lines along the rain out of the Gaussians' target while B has not fitted them yet, and B never "
    "does: rain-free pixels 27.11 -> 26.53 dB, rain pixels 23.34 -> 22.24. After training (the photo) B is "
    "final and the same lift costs little; inside training it feeds B's own error back as its target.",
    "Derained photos with their dark streaks filled (2026-12-07, stop 34; the table's runs are stop 33's, "
    "evaluated again with `--reuse`: only the derained photo column changed). The photo is Y - R, then lifted "
    "towards rainyscape's render where the photo has a thin dark line along the estimated rain angle "
    "(`derained_photo.py`: a closing across the rain, 5 samples, less one along it, 7 samples; the lift is at most "
    "that depth and at most render - photo). Against the baseline's render, per scene (plain Y - R -> with the "
    "fill): classic +5.80 -> +5.40, issue16 +3.40 -> +3.17, mixed +0.16 -> +2.20, sparse +5.74 -> +5.45, heavy "
    "+6.30 -> +5.92, wide45 +5.45 -> +5.04, large +3.57 -> +3.12, jittery +1.97 -> +2.57, blurtea +1.79 -> +1.57: "
    "median +3.57 -> +3.17, worst +0.16 -> +1.57 dB. Tried on the same runs: the plain black top-hat (a square a "
    "twentieth of the image wide, no direction) as the bound fills the darkening scenes a little more (mixed "
    "+2.34, jittery +3.20) but lifts the scene's own dark detail everywhere else (classic +4.44, large +1.64, "
    "blurtea +1.06); lifting only where the lift exceeds 0.03-0.1 moves every scene by 0.15 dB or less. The "
    "darkening layer as the default instead (variant `--pipeline.model.predictor.darkening True`, trained on "
    "every scene, against the table's baseline; render / Y - R with the signed layer / held-out): classic +3.55 / "
    "+5.49 / +1.97, issue16 +1.94 / +3.77 / +1.65, mixed +1.78 / +2.43 / +1.99, sparse +2.69 / +3.99 / +0.82, heavy "
    "+2.74 / +4.02 / +2.43, wide45 +1.78 / +2.94 / +1.42, large +0.16 / +2.07 / -0.13, jittery +0.99 / +2.61 / "
    "+1.22, blurtea +0.19 / +0.73 / +0.35: photo median +2.94, worst +0.73; render median +1.78. Not kept: the "
    "signed layer also takes some of B's misfit on rain that only brightens.",
    "Also tried this stop, not kept. (a) Leaving pixels whose clamped rain layer exceeds 0.05 out of the Gaussians' "
    "losses (B fitted only by the views where a point is dry; a variant with a knob since removed), against the "
    "table's baseline, render / derained photo / held-out: classic +3.03 / +4.98 / +2.10, issue16 +2.26 / +3.26 / "
    "+1.37, mixed -1.70 / -0.56 / -1.50, sparse -0.05 / +1.47 / +1.19, heavy +3.12 / +5.29 / +2.57, large -0.93 / "
    "+1.49 / -0.97, blurtea -0.52 / +0.47 / -0.10: worse on every scene, most where the rain layer also holds "
    "misfit. (b) Bounding R in the photo by the photo's bright thin lines along the rain angle (an opening along "
    "less one across): blurtea +1.57 -> +2.37 but classic -> +3.09, heavy -> +2.01, wide45 -> +1.74. (c) Taking "
    "the render's local negative residual max(B - Y, 0) (3x3 maximum) off R before the photo uses it: within "
    "+-0.5 dB except classic -1.0 and sparse +0.9; blurtea -0.26.",
    "A capture with no rain (rainyscape-small on blurtea's own photos, `data_clean` of the suite scene, 600 "
    "steps): the rain layer is not zero, it takes the render's misfit of the photos' camera shake (mean R 0.026; "
    "an angle of 105 deg is reported). The render scores 22.19 dB against the photos, Y - R 24.42, the derained "
    "photo 24.24: on a dry capture the photos lose some detail, and the render loses more.",
    "The table of stop 33 (2026-12-07): every run trained afresh on this checkout. classic and mixed (all "
    "three runs) and the baseline and clean-trained runs of sparse and issue16 trained with two torch threads"
    " each, two trainings at once, which made steps 10-17x slower than alone (the s/step column shows it); "
    "the rest with one thread each (`OMP_NUM_THREADS=1`). The preset is unchanged since the table before it, "
    "but not every figure came out the same: classic repeats exactly, mixed's rainyscape held-out is 23.26 dB"
    " against 22.95, sparse's 21.16 against 19.77 (one thread here), large's derained gain +0.37 against "
    "+0.18. Variant `seed2`: both methods at `--machine.seed 2` (`--variant-baseline`, new), so the variant's"
    " differences compare like with like; the table before compared rainyscape at seed 2 with the baseline at"
    " 42.",
    "Photo - R (new, `ns-rainyscape-derain`'s photo/): each training photo with its predicted rain layer taken "
    "out, Y - R, scored like the renders. The render is the 3D scene: it cannot hold what a photo has and the "
    "scene does not (per-view camera shake on blurtea, detail the run has not fitted yet), while on most pixels "
    "there is no rain at all and the photo is already right (large: 89% of the pixels, which the render fits to "
    "26.7 dB). Where the rain layer finds the rain, the photo without it beats the render by 1.1-3.2 dB "
    "(classic, issue16, sparse, heavy, wide45, large: R holds 92% of the true rain on large's rain pixels, 67% "
    "on issue16's). It is short where the layer cannot hold the rain: dark streaks (mixed: +0.16 over the "
    "baseline's render, under rainyscape's own render +1.19; with `--pipeline.model.predictor.darkening True` R "
    "can take them) and where R takes the render's misfit as well as the rain (blurtea: R averages 0.019 on "
    "rain-free pixels against 0.005 on large, because the render cannot fit the photos' camera shake, and "
    "taking it out of the photo removes true detail). For comparison, the rainy baseline's own render pasted "
    "into its photo where Y - B > 0.02 (no rain layer): classic 23.85, issue16 25.56, mixed 21.49, sparse 27.13, "
    "heavy 23.60, wide45 24.14, large 29.28, jittery 23.42, blurtea 24.36 dB; Y - R is above it on 8 of 9 "
    "scenes (blurtea below). Tried and not kept (post hoc on this table's runs): R taken out only where it "
    "exceeds 0.02 / 0.05 / 0.1 (within 0.1 dB of Y - R everywhere), (R - 0.05)+ taken out (blurtea +0.7 dB, "
    "classic -1.6), R clamped to the top-hat bound the Gaussians see (heavy -1.8, large +0.8), rainyscape's "
    "render pasted where R > 0.02 (within 0.6 dB of Y - R).",
    "Held-out on sparse (12 views of 48x48, 4 held out) at five machine seeds, both methods at each (rainyscape - "
    "baseline, dB): seed 42 +1.92, 2 -1.50, 3 +2.42, 4 +0.52, 5 +2.15 (baseline 19.24 / 19.97 / 18.32 / 18.48 / "
    "18.46; derained gain +2.68 / +2.25 / +2.39 / +2.08 / +1.95). Seed 2's loss is one held-out view (15.9 dB "
    "against the baseline's 18.9) whose top corner looks at sky no training view covers: 10% of its pixels have "
    "accumulated opacity under 0.9 and show the dark evaluation background (each run, clean-trained included, "
    "leaves 5-10% uncovered; over mid-grey that view scores 19.2 and the seed's mean difference is -0.38). Which "
    "run leaves which corner of sky uncovered is a matter of the seed; a background model for uncovered sky in "
    "the shared core, not this method's losses, is what would steady it (not done: every method's held-out "
    "figures would move). Split by pixel (stop 34, the same runs; mean over the 4 held-out views, rainyscape - "
    "baseline at seeds 42 / 2 / 3 / 4 / 5): on the pixels each run covers (accumulated opacity >= 0.9, 88-95% of "
    "a view) +1.39 / +0.83 / +1.69 / +1.99 / +1.41 dB; rendered over mid-grey +1.64 / -0.34 / +2.05 / +1.34 / "
    "+1.74; as scored +1.92 / -1.50 / +2.42 / +0.52 / +2.15. What the scene shows is ahead at every seed; the "
    "loss is where neither run has Gaussians. A learned background colour instead of splatfacto's random "
    "training / dark evaluation one (an experiment on this checkout, not kept: one RGB parameter, Adam 0.01, "
    "used in training and evaluation; both methods, every scene at machine seed 42, sparse at 2 as well). "
    "rainyscape's held-out goes up on 8 of 9 scenes (sparse 21.16 -> 22.56 dB, and 18.47 -> 22.46 at seed 2; "
    "classic +1.55, issue16 +0.89, mixed +0.63, wide45 +0.64, jittery +2.68, heavy +0.06, large +0.05; blurtea "
    "-0.48) and its colour goes to the sky's (sparse 0.78 0.75 0.70), but its derained render goes down on 7 "
    "(sparse -0.71, wide45 -0.78, blurtea -0.52, classic -0.30; mixed +0.45). The baseline's colour stays near "
    "0.5 and it trains worse without the random background (derained render sparse -2.5, issue16 -0.94, large "
    "-0.51, blurtea -0.46; held-out sparse -1.06, issue16 -1.03). rainyscape with it against the table's "
    "baseline: render median +1.97, worst -0.13 (blurtea); held-out median +2.96, worst +0.08 (blurtea). Not a "
    "drop-in for the shared core, nor for this method's preset: it trades the render for the held-out views, "
    "and the real photos lose on both.",
    "large at 1500 steps (`--scenes large --steps 1500`, single runs): derained baseline 28.83, rainyscape 29.21 "
    "(+0.38), clean-trained 30.07 (headroom +1.24, recovered 0.30), photo - R 32.33 (+3.50), held-out +0.81. The "
    "headroom passes 1 dB with the longer run, but rainyscape does not follow it: on rain pixels it is at 27.22 "
    "dB (baseline 25.61, clean-trained 28.42; B keeps 3% of the rain), on rain-free ones 28.34 (baseline 28.45, "
    "clean-trained 28.88). The rest of the gap is B's fit on rain-free pixels, which the rain does not touch in "
    "the photos. Not the anchor L1(B, Y) (600 steps, single runs, derained / held-out / photo - R: weight 0 "
    "26.92 / 26.85 / 30.59, 0.5 (preset) 27.02 / 27.21 / 30.22, 1 26.89 / 27.05 / 30.12); not pursued further "
    "this stop.",
    "The rain bound, the normalised Gaussian loss and L1(B, Y) at half weight (2026-12-07, both presets since "
    "then; the table's rainyscape column: trained as variants with the preset's settings and evaluated with "
    "`--reuse`, the baselines and the clean-trained runs are the earlier table's; trainings here repeat exactly). "
    "What held the derained gain down after the near-camera pruning "
    "(issue16, the earlier preset's run; training views split by the ground truth's depth into sky and scene and "
    "by |Y - clean| > 0.02 into rain and rain-free pixels): rain-free sky 22.96 dB against the rainy baseline's "
    "27.35, the scene's pixels ahead (rain-free 26.11 / 24.20, rain 20.95 / 18.41). 39% of rainyscape's squared "
    "error came from sky pixels with accumulated opacity under 0.9 (3.1% of the sky's pixels; baseline 1.8%, the "
    "unpruned run 1.8%): holes that show the evaluation background, and a dark floater or two. Over each, the "
    "rain layer had a bright patch: with a random training background Y - B is positive on a hole on average, "
    "R >= 0 fits it, and the Gaussians' loss on B + sg(R) no longer sees the hole. Three changes: "
    "(1) `--pipeline.model.rain-bound-fraction 0.1`: the Gaussians see R clamped to the rainy photo's "
    "morphological top-hats (a square a tenth of the image wide): rain can only be where the photo has "
    "structure thinner than that, never on a smooth sky. issue16 derained 24.68 -> 25.14 dB, classic 24.79 -> "
    "25.51; rain-free sky 22.96 -> 24.95. (2) `--pipeline.model.normalise-gaussian-loss True`: stage 2's extra "
    "L1(B, Y) nearly doubles the gradients that densification thresholds, so B split into more, smaller "
    "Gaussians than the baseline. With the threshold doubled instead (`--pipeline.model.densify-grad-thresh "
    "0.0016`) issue16 went 25.14 -> 26.03 while the baseline with it went only 23.74 -> 23.96; normalising the "
    "loss (divided by 1 + 0.8 w) keeps the authors' weights and splatfacto's threshold: 25.72, rain-free sky "
    "28.40 (holes now 14% of the error). Not the cause: the late prunes (pruning only until splitting stops: "
    "25.15 against 25.14). Suite with (1) and (2) (variant `cl1` now): derained median +1.98, worst +0.21, "
    "held-out worst +0.04; every scene gained over the earlier preset (issue16 +0.93 -> +1.98, mixed +0.60 -> "
    "+1.30, jittery +0.77 -> +1.62, classic +2.65 -> +3.47). (3) `--pipeline.model.clean-l1-weight 0.5`: "
    "L1(B, Y) was the anchor against R taking a brightness offset of B (the ablations on the main benchmark); "
    "with the bound R cannot take one on smooth regions, and at full weight it pulls B towards the rainy photo "
    "(issue16 with (1) and (2): B keeps 25% of the rain on the scene's rain pixels). Half weight: derained "
    "median +2.28, worst +0.18 (large), held-out worst -0.08; up on 6 of 9 scenes, mixed -0.19. The darkening "
    "layer with (1) and (2) (single runs): mixed +1.30 -> +2.13 dB, issue16 +1.98 -> +2.00, classic +3.47 -> "
    "+3.15, jittery +1.62 -> +1.16: still not the default (the README says when to turn it on).",
    "Held-out views of the sparsest scene (sparse, 12 training views of 48x48; 2026-12-07): every run, the "
    "clean-trained one too, leaves 5-10% of each held-out view's pixels with accumulated opacity under 0.9, which "
    "show the evaluation background (splatfacto's dark viewer colour; training used a random one). Rendered over "
    "mid-grey instead (the training backgrounds' mean), the mean held-out PSNR goes: rainy baseline 19.24 -> "
    "20.57, rainyscape 19.77 -> 21.74, its seed-2 run 18.40 -> 20.92, clean-trained 19.83 -> 21.17: the seed-2 "
    "run's -0.84 dB becomes +0.35. Not changed: it is the shared core's evaluation, and every table would move.",
    "Near-camera pruning (2026-12-07, shared core; every run of this table has it, the baseline's and the clean-"
    "trained ones too): the table before it (same command, same data) had derained median +2.41 dB, worst -0.07, "
    "held-out worst -0.63 (mixed); with it +0.93 / +0.08 and -0.12. Trainings on this machine repeat exactly "
    "(issue16's rainyscape-small with `--pipeline.model.near-camera-prune 0` gives the earlier table's 25.93 dB "
    "derained and 21.08 held-out again), so the earlier rainyscape column is the preset without the pruning; "
    "against this table's (pruned) baseline it gains derained median +2.14 dB (classic +2.81, issue16 +2.19, mixed "
    "+0.61, sparse +2.62, heavy +2.58, wide45 +2.14, large -0.14, jittery +1.65, blurtea +0.13) with held-out worst"
    " -0.74 (issue16; mixed -0.62). Where the derained gain went (issue16, derained training views split by the "
    "ground truth's depth into sky, 34% of the pixels, and scene): without the pruning sky 27.39 dB, scene 24.96; "
    "with it 23.07 / 24.67. Post hoc, switching off the 1983 Gaussians in the cameras' balls of the unpruned run "
    "(38 of them in the image of the camera whose ball holds them) takes its derained PSNR from 25.64 to 23.47 "
    "(this script's per-channel mean): Gaussians beside each camera served as the sky backdrop of the cameras "
    "facing it. On classic the pruning left rainyscape's sky as it was (23.89 / 24.00 dB) and the rainy baseline's "
    "moved 27.25 -> 26.08; the baseline on issue16 went the other way (23.56 -> 26.93): which Gaussians carry the "
    "sky is a matter of the run, and the pruning took the unpruned issue16 run's. A second machine seed with the "
    "pruning on issue16: derained +1.59, held-out +0.34. rainyscape's sky trails the baseline's even without the "
    "pruning (classic 23.89 against 27.25 dB, while the scene part gains 24.66 against 20.82), which is where the "
    "remaining derained gain is; not pursued.",
    "Why thin streaks were the low scenes, and the 4-channel map (2026-12-07; squared error of the derained "
    "training views split into pixels the rain touches (|Y - clean| > 0.02) and the rest, and the share of the true "
    "rain Y - clean found in B and in R (least-squares projection on the rain pixels)). issue16 (1-px streaks), "
    "one-channel map: rain pixels 21.31 dB, the rest 26.07 (clean-trained 25.77 / 26.32, rainy baseline 18.93 / "
    "23.96); B holds 23% of the rain (baseline 35%), R only 54% of it. The rain net's first map has one channel at "
    "half resolution: fitted directly to the true rain of the 16 views (500 visits of 8 updates), it recovers 68% "
    "(4 channels: 81%; 16 base features: 81%, at several times the cost). With 4 channels R finds 74% of the "
    "rain, B keeps 19%, and the derained gain rises +1.83 -> +2.61 dB. Where streaks are 2-3 px wide the one-channel "
    "map already finds the rain (wide45: R 81%, B 14%), and the larger map also takes some of B's own misfit "
    "(mean R on rain-free pixels 0.0045 -> 0.0053 / 0.0070), leaving B less to learn there (rain-free pixels "
    "25.29 -> 24.88 / 24.60 dB): wide45 and mixed lose ~0.5 dB, large (nothing much to gain) 0.2-0.4. "
    "`map_channels` 4 is the preset, chosen on the median (the variant column of that table was the one-channel map).",
    "- the 4-channel preset again with `--machine.seed 2` (derained gain / held-out difference): issue16 +2.37 / "
    "+1.93, mixed +0.09 / +0.26, heavy +3.25 / +4.92, wide45 +2.41 / +2.14, large -0.25 / -1.22, jittery +1.61 / "
    "+1.51, classic +2.57 / +0.38, sparse +2.08 / +0.23, blurtea +0.40 / +0.49 (the table's run: +2.61, +0.27, "
    "+2.41, +2.42, -0.07, +1.68, +2.76, +2.46, +0.17): derained median +2.08, worst -0.25. The one-channel map's "
    "earlier suite run (2026-12-06): median +1.59, worst +0.22. large's held-out difference swings -1.22 to -0.10 "
    "between runs of either preset.",
    "- rain that darkens (mixed; bright and dark streaks scored apart): bright-streak pixels 22.68 dB, B holding 13% "
    "of their rain; dark-streak pixels 16.19 dB, B holding 40% (the rainy baseline 36%). R >= 0 cannot take a dark "
    "streak, and it does take the positive residual a dark streak absorbed by B leaves in the other views, so those "
    "views stop pulling B back: the dark rain is kept more than by the baseline. With the darkening layer the same "
    "happens the other way round to bright rain absorbed by B (its negative residual in other views is explained "
    "away), which would explain why `darkening` costs the bright-only scenes (not measured apart).",
    "- held-out on large, per view (PSNR of each of the 8 held-out views): rainy baseline 26.06 28.56 28.88 27.04 "
    "25.83 26.74 27.47 24.45; the table's run 26.48 27.96 27.06 26.14 25.11 27.98 28.91 24.34; the seed-2 run 24.74 "
    "29.33 22.51 26.32 26.22 23.83 27.65 24.65; the one-channel map 25.70 27.12 28.94 26.79 20.16 27.70 27.21 24.11; "
    "clean-trained 26.03 28.32 29.28 28.03 27.11 29.07 28.65 22.47. The mean loss comes from one or two views that "
    "fall 5-8 dB in one run and not in another (the clean-trained run has one too): the sparse-view floaters found "
    "on the main benchmark's seed 1, not a steady offset. On large they are not near-camera Gaussians (zeroing the "
    "opacity of those within 0.5 of a training camera leaves the seed-2 run's views as they were) but holes in the "
    "sky: the seed-2 run's view at 22.51 dB shows the black evaluation background through an uncovered patch of "
    "sky; pixels with accumulated opacity under 0.5, largest share in a held-out view: clean-trained 0.1%, rainy "
    "baseline 0.3%, the table's run 0.3%, the seed-2 run 1.2% (1.5% in a training view), the one-channel map 0.2%.",
    "Single runs beside the suite (2026-12-06, one-channel map, same data and baselines):",
    "- blurtea at 1500 steps (`--scenes blurtea --steps 1500`): derained baseline 22.61, rainyscape 22.97 (+0.36), "
    "clean-trained 23.11 (headroom +0.50), held-out +0.49, angle 0.70 deg. The headroom below +1 dB is not a "
    "short-run artefact: splatfacto trained on the clean photos fits its own training views to 23 dB (their camera "
    "shake is not consistent across views), and the rain costs the rainy baseline only 0.5 dB of that.",
    "- B's L1 to the rainy photo dropped where the predicted rain exceeds 0.05 "
    "(`--pipeline.model.clean-l1-rain-threshold 0.05`): derained gain classic +1.25, issue16 +0.45, mixed -0.26, "
    "jittery -0.07 dB (default +2.53 / +1.59 / +0.83 / +1.11), held-out on mixed -1.06. On a rain pixel the two "
    "L1 terms cost the same for any B between Y - R and Y, so the other views decide; without the second one B "
    "is pinned to Y - R, and scene texture the rain layer took is missing from B. It stays off.",
]

ABLATIONS = [
    "Ablations (2026-11-30, from this benchmark's earlier, shorter setting: seed 0, 16 training / 4 held-out views, "
    "300 steps; one run each, `ns-train rainyscape-small` overrides; derained train PSNR / held-out PSNR / mean |R - "
    "R_true| (R = 0: 0.0540) / angle error; the rainy baseline 19.97 / 16.96):",
    "- rain-net updates a step (`--pipeline.model.rain-updates`): 1 (authors) 21.25 / 18.75 / 0.0524 / 2.61; 4: "
    "21.40 / 19.72 / 0.0452 / 2.02; **8 (preset)** 21.72 / 19.84 / 0.0415 / 2.91; 16: 22.09 / 20.22 / 0.0406 / 3.49. "
    "Scene seed 1 (baseline 20.34 / 17.62, R = 0: 0.0523): 1: 21.78 / 19.39 / 0.0504 / 2.63; 8: 21.77 / 20.28 / "
    "0.0390 / 2.69; 16: 21.80 / 18.91 / 0.0406 / 4.32. At 600 steps (seed 0; `--steps 600`: baseline 22.13 / 19.50, "
    "clean upper bound 26.30 / 19.17): 1: 23.55 / 18.36 / 0.0408 / 4.40; 8: 24.48 / 18.56 / 0.0324 / 3.01 (held-out "
    "PSNR over 4 views swings 16-22 dB a view at this length: the upper bound loses to the rainy baseline there too; "
    "held-out SSIM 0.659 baseline, 0.701 rainyscape, 0.737 upper bound)",
    "- without the Gaussians' second L1 (of B alone, `--pipeline.model.clean-l1-weight 0`): 1 update 19.03 / 17.88 / "
    "0.0961 / 3.11; 16 updates 14.01 / 13.77 / 0.0805 / 3.48. Y = B + R leaves a brightness offset free: R >= 0 "
    "fitted by MSE rectifies B's zero-mean errors into a positive R, B darkens to match, and the next residual is "
    "larger; L1(B, Y) is the only anchor. A sparsity term w mean(R) on the rain net (tried, not kept) stops the "
    "collapse but does not beat the anchor: with L1(B, Y) dropped, 8 updates, w 20: 20.64 / 19.65 / 0.0474; w 50: "
    "21.60 / 19.69 / 0.0461; with it kept, w 20: 21.73 / 19.48 / 0.0411 / 3.94",
    "- no E-step (`--pipeline.model.langevin-steps 0`): 1 update 21.31 / 18.56 / 0.0559 / 4.05; 16 updates 21.97 / "
    "19.70 / 0.0390 / 4.94",
    "- faster optimizers instead of more updates: rain generator lr 3e-3 21.30 / 19.72 / 0.0578 / 4.20; generator "
    "and state net 3e-3 21.64 / 16.02 / 0.0582 / 3.46; direction loss weight 20 (of 1): 21.20 / 18.95 / 0.0704 / "
    "3.32; rain loss reaching the Gaussians: 18.16 / 15.56 / 0.0919 / 1.21 (146k Gaussians)",
    "- the residual-weighted term 0.1 / sigma^2 mean(e^2) is ~0.1 next to eps2 mean(e^2) ~2.5 (eps2 500): the rain "
    "net's data term is a plain MSE; B's own error at this run length (mean |B - clean| ~0.05) is as large as the "
    "rain (mean 0.054), and it bounds what R can reach",
]


def evaluate(config: Path, data: Path) -> dict:
    from ns_plugins.rainyscape.evaluation import (
        photo_derained_metrics,
        rain_angle_error_deg,
        rain_layer_error,
        render_train_views,
        train_view_metrics,
    )
    from ns_plugins.splat.evaluate import heldout_metrics, load_trained_pipeline

    pipeline, _ = load_trained_pipeline(config)
    heldout = heldout_metrics(pipeline)
    views = render_train_views(pipeline)  # rendered once for every score below
    result = {
        "heldout": {"psnr": heldout["psnr"], "ssim": heldout["ssim"]},
        "train_derained": train_view_metrics(pipeline, data, views),
        "gaussians": int(cast("PortableSplatModel", pipeline.model).num_points),
        "seconds_per_step": seconds_per_step(config),
    }
    rain_angle = getattr(pipeline.model, "rain_angle", None)  # rainyscape models only
    if rain_angle is not None:
        angle = rain_angle()
        result["angle_deg"] = float("nan") if angle is None else math.degrees(angle)
        result["angle_error_deg"] = rain_angle_error_deg(angle, data)
        result.update(rain_layer_error(pipeline, data, views))
        result["photo_derained"] = photo_derained_metrics(pipeline, data, views)
    return result


def step_costs(configs: dict, repeats: int = 12) -> dict:
    """Median seconds of one training step's forward + losses + backward (no optimizer) and, for
    rainyscape, its after-step callback's work, the runs alternated in one process so that they share
    the machine's load; rainyscape at its last (stage-2) step, i.e. with the rain net, the rain losses,
    the extra rain-net updates and the E-step."""
    import time

    from ns_plugins.splat.evaluate import load_trained_pipeline

    pipelines = {}
    for key, config in configs.items():
        pipeline, step = load_trained_pipeline(config)
        model = cast("PortableSplatModel", pipeline.model)
        model.train()
        model.step = step
        # read (not used) by the strategy's pre-backward hook; rainyscape's after-step rain-net updates step
        # the rain optimizers (lr 0 here: timed, the model unchanged)
        groups = model.get_param_groups()
        model.optimizers = {
            name: torch.optim.Adam(groups[name], lr=0.0)
            for name in ("rain_state_net", "rain_generator")
            if name in groups
        }
        pipelines[key] = (pipeline, step)
    times = {key: [] for key in configs}
    for i in range(repeats):
        for key, (pipeline, step) in pipelines.items():
            camera, batch = pipeline.datamanager.next_train(step + i)
            start = time.perf_counter()
            outputs = pipeline.model(camera)
            loss = cast(torch.Tensor, sum(pipeline.model.get_loss_dict(outputs, batch).values()))
            loss.backward()
            fit_pending_rain = getattr(pipeline.model, "fit_pending_rain", None)  # rainyscape's after-step callback
            if fit_pending_rain is not None:
                fit_pending_rain(pipeline.model.optimizers)
            times[key].append(time.perf_counter() - start)
            pipeline.model.zero_grad(set_to_none=True)
    return {key: float(np.median(t[2:])) for key, t in times.items()}


def seed_gains(rows: dict) -> dict:
    """rainyscape - rainy baseline: held-out and derained-train PSNR gains (dB), and the angle error."""
    m, b = rows[("rainy", "rainyscape-small")], rows[("rainy", "splatfacto-portable")]
    return {
        "heldout": m["heldout"]["psnr"] - b["heldout"]["psnr"],
        "heldout_ssim": m["heldout"]["ssim"] - b["heldout"]["ssim"],
        "derained": m["train_derained"]["psnr"] - b["train_derained"]["psnr"],
        "angle_error_deg": m["angle_error_deg"],
    }


def other_seeds_lines(args, per_seed: dict) -> list:
    """Markdown: one row per scene seed (the table's seed first), then the means."""
    lines = [
        "",
        "Other scene seeds (`--other-seeds`; same size, views, steps and presets; each seed draws other objects, "
        "cameras and rain):",
        "",
        "| scene seed | rain angle error, deg | derained train: rainyscape - baseline | held-out PSNR: rainyscape - "
        "baseline | held-out SSIM: rainyscape - baseline |",
        "|---|---|---|---|---|",
    ]
    for seed, g in per_seed.items():
        lines.append(
            f"| {seed} | {g['angle_error_deg']:.2f} | {g['derained']:+.2f} dB | {g['heldout']:+.2f} dB | "
            f"{g['heldout_ssim']:+.3f} |"
        )
    mean = {
        k: float(np.mean([g[k] for g in per_seed.values()]))
        for k in ("angle_error_deg", "derained", "heldout", "heldout_ssim")
    }
    lines.append(
        f"| mean of {len(per_seed)} | {mean['angle_error_deg']:.2f} | {mean['derained']:+.2f} dB | "
        f"{mean['heldout']:+.2f} dB | {mean['heldout_ssim']:+.3f} |"
    )
    return lines


def markdown(args, rows: dict, rain_info: dict, rainy_inputs: dict, load: tuple, costs: dict, per_seed: dict) -> str:
    date = datetime.date.today().isoformat()
    opts = rain_info["options"]
    lines = [
        "## RainyScape (synthetic rain, CPU)",
        "",
        f"Command: `python benchmarks/bench_rainyscape.py --write --steps {args.steps} --size {args.size} "
        f"--num-train {args.num_train} --num-test {args.num_test} --seed {args.seed}"
        f"{' --other-seeds ' + ' '.join(map(str, args.other_seeds)) if args.other_seeds else ''}"
        f"{' --reuse' if args.reuse else ''}` — {date}, {platform.machine()}, nproc {os.cpu_count()}, torch "
        f"{torch.__version__} ({torch.get_num_threads()} threads).",
        f"Scene: `ns-plugins-synth` seed {args.seed}, {args.size}x{args.size}, {args.num_train} rainy training / "
        f"{args.num_test} clean held-out views; `rain` degradation: streaks at {rain_info['angle_deg']:.1f} deg "
        f"(+-{opts['jitter_deg']} deg per view), length {opts['length']} x height, width {opts['width']} px, "
        f"{opts['streaks_per_kpx']} streaks per 1000 px, intensity {opts['intensity']}: "
        f"{100 * rain_info['coverage']:.0f}% of pixels covered. Preset `rainyscape-small` (stage 1 = first 15% of "
        "the run, rain net with 8 base features, 8 rain-net updates a step, E-step on) vs `splatfacto-portable`; "
        "schedules scaled to the run, same step budget.",
        "Derained training views: the method's clean render of each training view (a baseline's render of that view) "
        "vs the clean ground truth."
        + (
            " With `--reuse`, runs already in the work folder (trained by an earlier call with the same arguments) "
            "are evaluated again, not retrained."
            if args.reuse
            else ""
        ),
        "",
        "| training images | method | held-out PSNR | held-out SSIM | derained train PSNR | derained train SSIM | "
        "rain angle (true " + f"{rain_info['angle_deg']:.1f}) | Gaussians | s/step |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (scene, method), r in rows.items():
        angle = f"{r['angle_deg']:.1f} (err {r['angle_error_deg']:.2f})" if "angle_deg" in r else "-"
        lines.append(
            f"| {scene} | {method} | {r['heldout']['psnr']:.2f} | {r['heldout']['ssim']:.3f} | "
            f"{r['train_derained']['psnr']:.2f} | {r['train_derained']['ssim']:.3f} | {angle} | {r['gaussians']} | "
            f"{r['seconds_per_step']:.3f} |"
        )
    lines.append(
        f"| rainy | (the rainy inputs themselves) | - | - | {rainy_inputs['psnr']:.2f} | {rainy_inputs['ssim']:.3f} "
        "| - | - | - |"
    )
    lines.append("")
    if ("rainy", "rainyscape-small") in rows and ("rainy", "splatfacto-portable") in rows:
        m, b = rows[("rainy", "rainyscape-small")], rows[("rainy", "splatfacto-portable")]
        lines += [
            "- derained training views, rainyscape - rainy baseline: "
            f"{m['train_derained']['psnr'] - b['train_derained']['psnr']:+.2f} dB (must be >= +2)",
            f"- held-out views, rainyscape - rainy baseline: {m['heldout']['psnr'] - b['heldout']['psnr']:+.2f} dB "
            "(must be >= 0)",
            f"- rain angle error: {m['angle_error_deg']:.2f} deg (must be < 5)",
            f"- predicted rain layers vs the true ones (training views): mean |R - R_true| {m['rain_l1']:.4f}, "
            f"against {m['zero_rain_l1']:.4f} for R = 0",
            "- step cost (forward + losses + backward, both trained runs alternated in one process, median of 10 "
            f"steps each after 2 warm-up steps): rainyscape stage 2 {1000 * costs['rainyscape-small']:.0f} ms vs "
            f"baseline {1000 * costs['splatfacto-portable']:.0f} ms "
            f"({costs['rainyscape-small'] / costs['splatfacto-portable']:.2f}x: the rain net, its 7 extra updates, "
            "its losses and 5 Langevin updates; stage-1 steps cost a baseline step). The s/step column is "
            "nerfstudio's timer in each run, under whatever load that run met.",
        ]
        if ("clean", "splatfacto-portable") in rows and m["heldout"]["psnr"] > rows[("clean", "splatfacto-portable")][
            "heldout"
        ]["psnr"]:
            lines.append(
                f"- at {args.steps} steps the clean-trained upper bound has not converged either: rainyscape passes it"
            )
        if m["rain_l1"] > 0.8 * m["zero_rain_l1"]:
            lines.append(
                "- the predicted rain layer is only a little better than none: the gain does not come from an "
                "accurate rain layer"
            )
        if ("clean", "splatfacto-portable") in rows:
            ceiling = rows[("clean", "splatfacto-portable")]["train_derained"]["psnr"] - b["train_derained"]["psnr"]
            lines.append(
                f"- the clean-trained upper bound is {ceiling:+.2f} dB over the rainy baseline on the training views "
                f"at {args.steps} steps"
            )
        if len(per_seed) > 1:
            lines += other_seeds_lines(args, per_seed)
            if set(per_seed) == {0, 1, 2} and (args.steps, args.num_train, args.num_test) == (600, 32, 8):
                lines += ["", *SEED_NOTES]
        lines += ["", *ABLATIONS]
    lines += [
        "",
        f"1-min load average {load[0]:.2f} before / {load[1]:.2f} after (the 2 cores were shared with other jobs: "
        "timings are inflated).",
    ]
    return "\n".join(lines)


def run_scene(args, seed: int, work_dir: Path, upper_bound: bool = True) -> tuple:
    """Generate (or, with --reuse, find) the rainy and clean scenes of ``seed`` in work_dir, train and
    evaluate the plan (without the clean-trained run unless ``upper_bound``) -> (rows, configs,
    datasets, rain ground-truth info)."""
    from ns_plugins.data.synth_cli import generate_dataset

    datasets = {}
    for scene, degradation in (("rainy", "rain"), ("clean", "none")):
        path = work_dir / "data" / scene
        if args.reuse and (path / "transforms.json").is_file():
            datasets[scene] = path
            continue
        datasets[scene] = generate_dataset(
            path,
            seed=seed,
            num_train=args.num_train,
            num_test=args.num_test,
            width=args.size,
            height=args.size,
            num_seed_points=2000,
            degradation=degradation,
            overwrite=True,
        )
    rain_info = json.loads((datasets["rainy"] / "gt/scene.json").read_text())["degradation"]
    plan = [("rainy", "splatfacto-portable"), ("rainy", "rainyscape-small")] + (
        [("clean", "splatfacto-portable")] if upper_bound else []
    )
    rows, configs = {}, {}
    for scene, method in plan:
        if args.only and method not in args.only:
            continue
        config = configs[(scene, method)] = train(
            method, datasets[scene], work_dir / "runs", f"{scene}_{method}", args.steps, reuse=args.reuse
        )
        rows[(scene, method)] = evaluate(config, datasets["rainy"])  # clean GT of both datasets is the same scene
        print(json.dumps({"scene": scene, "method": method, **rows[(scene, method)]}, indent=1), flush=True)
    return rows, configs, datasets, rain_info


@dataclass(frozen=True)
class SuiteScene:
    """One scene of the variation suite: a synthetic scene (``ns-plugins-synth``) or blurtea's photos."""

    name: str
    seed: int
    num_train: int
    num_test: int
    width: int
    height: int
    rain: dict = field(default_factory=dict)
    """``rain`` degradation options."""
    photos: bool = False
    """Rain composited on blurtea's photos (resized to width x height; every 6th photo held out, clean)."""


SUITE = [
    SuiteScene("classic", 10, 16, 6, 64, 64, {}),
    SuiteScene(
        "issue16",
        7,
        16,
        6,
        64,
        64,
        {
            "blend": "screen",
            "length_px_min": 3,
            "length_px_max": 10,
            "density": 0.17,
            "intensity": 0.5,
            "intensity_max": 1.0,
            "angle_deg": 90,
            "jitter_deg": 0,
            "streak_jitter_deg": 15,
        },
    ),
    SuiteScene(
        "mixed",
        11,
        24,
        6,
        80,
        60,
        {
            "blend": "mixed",
            "length_px_min": 5,
            "length_px_max": 15,
            "width_max": 2,
            "density": 0.2,
            "intensity": 0.4,
            "intensity_max": 0.8,
            "angle_deg": 70,
            "streak_jitter_deg": 5,
        },
    ),
    SuiteScene(
        "sparse",
        12,
        12,
        4,
        48,
        48,
        {
            "length_px_min": 3,
            "length_px_max": 8,
            "density": 0.05,
            "intensity": 0.3,
            "intensity_max": 0.5,
            "angle_deg": 120,
            "streak_jitter_deg": 3,
        },
    ),
    SuiteScene(
        "heavy",
        13,
        32,
        8,
        64,
        64,
        {
            "blend": "screen",
            "length_px_min": 10,
            "length_px_max": 20,
            "width_max": 3,
            "density": 0.3,
            "intensity": 0.5,
            "intensity_max": 0.9,
            "angle_deg": 100,
            "streak_jitter_deg": 5,
        },
    ),
    SuiteScene(
        "wide45",
        14,
        20,
        6,
        96,
        64,
        {
            "length_px_min": 8,
            "length_px_max": 20,
            "width": 2,
            "width_max": 3,
            "density": 0.15,
            "intensity": 0.4,
            "intensity_max": 0.7,
            "angle_deg": 45,
            "streak_jitter_deg": 3,
        },
    ),
    SuiteScene(
        "large",
        15,
        48,
        8,
        128,
        96,
        {
            "blend": "screen",
            "length_px_min": 6,
            "length_px_max": 20,
            "width_max": 2,
            "density": 0.12,
            "intensity": 0.4,
            "intensity_max": 0.9,
            "angle_deg": 135,
            "streak_jitter_deg": 5,
        },
    ),
    SuiteScene(
        "jittery",
        16,
        16,
        6,
        64,
        48,
        {
            "blend": "mixed",
            "length_px_min": 3,
            "length_px_max": 12,
            "density": 0.1,
            "intensity": 0.5,
            "intensity_max": 0.9,
            "angle_deg": 90,
            "jitter_deg": 8,
            "streak_jitter_deg": 25,
        },
    ),
    SuiteScene(
        "blurtea",
        17,
        32,
        6,
        96,
        54,
        {
            "blend": "screen",
            "length_px_min": 4,
            "length_px_max": 12,
            "density": 0.15,
            "intensity": 0.5,
            "intensity_max": 0.9,
            "angle_deg": 80,
            "streak_jitter_deg": 5,
        },
        photos=True,
    ),
    SuiteScene(
        "blurtea320",
        18,
        32,
        6,
        320,
        180,
        {
            "blend": "screen",
            "length_px_min": 10,
            "length_px_max": 40,
            "width": 1.0,
            "width_max": 2.5,
            "density": 0.12,
            "intensity": 0.4,
            "intensity_max": 0.8,
            "angle_deg": 100,
            "streak_jitter_deg": 8,
        },
        photos=True,
    ),
]
BLURTEA = ROOT.parent / "shared" / "data" / "blurtea"


def llff_camera_to_worlds(poses_bounds: np.ndarray) -> np.ndarray:
    """LLFF poses_bounds [N, 17] (columns down, right, back) -> OpenGL camera-to-world [N, 3, 4] (right, up, back)."""
    poses = poses_bounds[:, :15].reshape(-1, 3, 5)
    return np.concatenate([poses[:, :, 1:2], -poses[:, :, 0:1], poses[:, :, 2:4]], axis=2)


def photo_rain_scene(out: Path, scene: SuiteScene, photos: Path = BLURTEA) -> Path:
    """Rain composited on a Deblur-NeRF/LLFF capture's photos (poses_bounds.npy, images_4/, sparse/0/points3D.bin)
    -> a nerfstudio-data folder like ``ns-plugins-synth``'s (images/, gt/clean/, gt/rain/, gt/scene.json,
    points.ply)."""
    from nerfstudio.data.utils.colmap_parsing_utils import read_points3D_binary
    from PIL import Image

    from ns_plugins.data import writer
    from ns_plugins.rainyscape.simulate import blend_rain, parse_options, sample_view_rain

    opts = parse_options(scene.rain)
    poses_bounds = np.load(photos / "poses_bounds.npy")
    files = sorted((photos / "images_4").glob("*.png"))
    c2w = llff_camera_to_worlds(poses_bounds)
    full_height, full_width, focal = poses_bounds[0, :15].reshape(3, 5)[:, 4]
    rng = np.random.default_rng(scene.seed)
    stems = [writer.frame_stem(i) for i in range(len(files))]
    test = set(stems[3::6][: scene.num_test])
    train = [s for s in stems if s not in test][: scene.num_train]
    assert opts.angle_deg is not None  # the photo scene sets its rain angle
    angle = np.radians(opts.angle_deg)
    frames, coverage = [], []
    for stem, path, pose in zip(stems, files, c2w):
        if stem not in test and stem not in train:
            continue
        with Image.open(path) as img:
            clean = (
                np.asarray(
                    img.convert("RGB").resize((scene.width, scene.height), Image.Resampling.BICUBIC), dtype=np.float64
                )
                / 255.0
            )
        clean = np.clip(clean, 0.0, 1.0)
        writer.write_rgb_png(out / f"gt/clean/{stem}.png", clean)
        image = clean
        if stem in train:
            bright, dark = sample_view_rain(
                rng, scene.height, scene.width, angle + np.radians(opts.jitter_deg) * rng.normal(), opts
            )
            image = blend_rain(clean, bright[..., None], dark[..., None], opts.blend)
            writer.write_rgb_png(out / f"gt/rain/{stem}.png", np.clip(image - clean, 0.0, 1.0))
            if opts.blend == "mixed":
                writer.write_rgb_png(out / f"gt/rain_dark/{stem}.png", np.clip(clean - image, 0.0, 1.0))
            coverage.append(float((np.abs(image - clean).max(-1) > 0.02).mean()))
        writer.write_rgb_png(out / writer.image_relpath(stem), image)
        frames.append(
            {"file_path": writer.image_relpath(stem), "transform_matrix": np.vstack([pose, [0, 0, 0, 1]]).tolist()}
        )
    points = read_points3D_binary(photos / "sparse/0/points3D.bin")
    writer.write_points_ply(
        out / "points.ply", np.stack([p.xyz for p in points.values()]), np.stack([p.rgb for p in points.values()])
    )
    scale = scene.width / full_width
    test_files = [writer.image_relpath(s) for s in sorted(test)]
    writer.write_json(
        out / "transforms.json",
        {
            "camera_model": "OPENCV",
            "fl_x": focal * scale,
            "fl_y": focal * scene.height / full_height,
            "cx": scene.width / 2,
            "cy": scene.height / 2,
            "w": scene.width,
            "h": scene.height,
            "k1": 0.0,
            "k2": 0.0,
            "p1": 0.0,
            "p2": 0.0,
            "frames": frames,
            "ply_file_path": "points.ply",
            "train_filenames": [writer.image_relpath(s) for s in train],
            "val_filenames": test_files,
            "test_filenames": test_files,
        },
    )
    writer.write_json(
        out / "gt/scene.json",
        {
            "source": str(photos),
            "train_stems": train,
            "test_stems": sorted(test),
            "degradation": {
                "name": "rain",
                "options": scene.rain,
                "angle_deg": float(opts.angle_deg) % 180.0,
                "coverage": float(np.mean(coverage)),
            },
        },
    )
    return out


def suite_dataset(scene: SuiteScene, path: Path, reuse: bool) -> Path:
    """The rainy dataset of a suite scene in ``path`` (written unless ``reuse`` finds it)."""
    from ns_plugins.data.synth_cli import generate_dataset

    if reuse and (path / "transforms.json").is_file():
        return path
    if scene.photos:
        return photo_rain_scene(path, scene)
    return generate_dataset(
        path,
        seed=scene.seed,
        num_train=scene.num_train,
        num_test=scene.num_test,
        width=scene.width,
        height=scene.height,
        num_seed_points=2000,
        degradation="rain",
        degradation_options=scene.rain,
        overwrite=True,
    )


def clean_copy(data: Path, out: Path) -> Path:
    """The same scene with the clean truth (``gt/clean/``) as its photos -> ``out``: the upper bound's data."""
    import shutil

    if not (out / "transforms.json").is_file():
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(data, out, ignore=shutil.ignore_patterns("images"))
        shutil.copytree(data / "gt" / "clean", out / "images")
    return out


def run_suite_scene(args, scene: SuiteScene, work_dir: Path) -> dict:
    """Train and score the rainy baseline and rainyscape-small on one suite scene -> its figures (also saved as
    result.json)."""
    from ns_plugins.rainyscape.evaluation import rainy_input_metrics

    data = suite_dataset(scene, work_dir / "data", args.reuse)
    result = {
        "scene": scene.name,
        "steps": args.steps,
        "rainy_inputs": rainy_input_metrics(data),
        "rain": json.loads((data / "gt/scene.json").read_text())["degradation"],
    }
    # the upper bound: the baseline trained on the clean photos, scored the same way
    clean = train(
        "splatfacto-portable",
        clean_copy(data, work_dir / "data_clean"),
        work_dir / "runs",
        "clean-trained",
        args.steps,
        extra=args.extra,
        reuse=args.reuse,
    )
    result["clean-trained"] = evaluate(clean, data)
    for method in ("splatfacto-portable", "rainyscape-small"):
        extra = args.extra + (args.method_extra if method == "rainyscape-small" else [])
        config = train(method, data, work_dir / "runs", method, args.steps, extra=extra, reuse=args.reuse)
        result[method] = evaluate(config, data)
        print(json.dumps({"scene": scene.name, "method": method, **result[method]}), flush=True)
    if args.variant:  # an ablation: rainyscape-small again with other settings, beside the default
        extra = args.extra + args.method_extra + args.variant_extra
        variant = train("rainyscape-small", data, work_dir / "runs", args.variant, args.steps, extra, args.reuse)
        result["variant"] = {"name": args.variant, "extra": shlex.join(args.variant_extra), **evaluate(variant, data)}
        if args.variant_baseline:  # e.g. another machine seed: the baseline's own run at it is what to compare to
            base_extra = args.extra + args.variant_extra
            base = train(
                "splatfacto-portable",
                data,
                work_dir / "runs",
                f"{args.variant}-baseline",
                args.steps,
                base_extra,
                args.reuse,
            )
            result["variant"]["baseline"] = evaluate(base, data)
    # ns-rainyscape-derain's own code on the scene's run: one clean image and one rain layer per training view
    from ns_plugins.rainyscape.derain_cli import DerainArgs
    from ns_plugins.rainyscape.derain_cli import main as derain

    derained = derain(DerainArgs(load_config=config, output_dir=work_dir / "derained"))
    result["derain_cli_images"] = [len(list(derained.glob(f"{d}*.png"))) for d in ("", "rain/", "photo/")]
    (work_dir / "result.json").write_text(json.dumps(result, indent=1))
    return result


def suite_markdown(args, results: list, load: tuple) -> str:
    """Per-scene table of the suite, then median and worst of the gains."""
    date = datetime.date.today().isoformat()
    variants = next(((r["variant"]["name"], r["variant"]["extra"]) for r in results if "variant" in r), None)
    variant_args = (
        f" --variant {args.variant} --variant-extra {shlex.join(args.variant_extra)!r}"
        + (" --variant-baseline" if args.variant_baseline else "")
        if args.variant
        else ""
    )
    lines = [
        "## RainyScape variation suite (CPU)",
        "",
        f"Command: `python benchmarks/bench_rainyscape.py --suite --write --steps {args.steps}"
        f"{' --scenes ' + ' '.join(args.scenes) if args.scenes else ''}{' --reuse' if args.reuse else ''}"
        f"{' --extra ' + repr(shlex.join(args.extra)) if args.extra else ''}"
        f"{' --method-extra ' + repr(shlex.join(args.method_extra)) if args.method_extra else ''}"
        f"{variant_args}{f' --jobs {args.jobs}' if args.jobs > 1 else ''}"
        f"` — {date}, {platform.machine()}, nproc "
        f"{os.cpu_count()}, torch {torch.__version__}"
        f"{f' ({args.jobs} scenes side by side, 1 torch thread each)' if args.jobs > 1 else ''}. Scenes: `SUITE` in "
        "the script (rain options per scene); same "
        "step budget for both methods, `rainyscape-small` preset vs `splatfacto-portable` on the same rainy photos. "
        "Derained PSNR = each method's render of the training views vs the clean truth; derained photo = "
        "rainyscape's training photos less their rain (`ns-rainyscape-derain`'s photo/) vs the clean truth; mean "
        "abs(R - R_true): the rain it takes out of them (rain/: the layer clamped to each photo's top-hats); gains "
        "are against the baseline's render (its only derained image); "
        "s/step: nerfstudio's timer (last half of each run, under the machine's load).",
        "",
        "Clean-trained: `splatfacto-portable` trained on the clean truth of the same views, scored the same way: "
        "what rain costs splatfacto at this step budget (not a bound: rainyscape can pass it, its Gaussians train "
        "under another loss); recovered = gain / (clean-trained - baseline)."
        + (
            f" Variant `{variants[0]}`: `rainyscape-small {variants[1]}`, its derained gain and held-out difference"
            + (
                f" against `splatfacto-portable {variants[1]}`."
                if any("baseline" in r.get("variant", {}) for r in results)
                else " against the table's baseline."
            )
            if variants
            else ""
        ),
        "",
        "| scene | views (train/test), size | blend, streak px, cover | rainy inputs PSNR | derained PSNR base / rs "
        "(gain) | clean-trained derained PSNR (headroom) | recovered | derained SSIM base / rs | derained photo PSNR "
        "(gain), SSIM | held-out PSNR base "
        "/ rs (diff) | angle err, deg | mean abs(R - R_true) (R = 0) | s/step base / rs |"
        + (" variant gain / photo gain / held-out diff |" if variants else ""),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if variants else ""),
    ]
    gains, heldout, angles, recovered, variant_gains, variant_heldout = [], [], [], [], [], []
    photo_gains, photo_ssim_gains, variant_photo_gains = [], [], []
    for r in results:
        b, m, rain = r["splatfacto-portable"], r["rainyscape-small"], r["rain"]
        scene = next(s for s in SUITE if s.name == r["scene"])
        opts = rain.get("options", {})
        length = (
            f"{opts.get('length_px_min', '')}-{opts.get('length_px_max', '')}"
            if "length_px_min" in opts
            else f"{opts.get('length', 0.2)}h"
        )
        gain = m["train_derained"]["psnr"] - b["train_derained"]["psnr"]
        diff = m["heldout"]["psnr"] - b["heldout"]["psnr"]
        headroom = r["clean-trained"]["train_derained"]["psnr"] - b["train_derained"]["psnr"]
        gains.append(gain)
        heldout.append(diff)
        photo = "n/a"
        if "photo_derained" in m:
            photo_gains.append(m["photo_derained"]["psnr"] - b["train_derained"]["psnr"])
            photo_ssim_gains.append(m["photo_derained"]["ssim"] - b["train_derained"]["ssim"])
            photo = f"{m['photo_derained']['psnr']:.2f} ({photo_gains[-1]:+.2f}), {m['photo_derained']['ssim']:.3f}"
        angles.append(m["angle_error_deg"])
        recovered.append(gain / headroom if headroom > 0 else float("nan"))
        variant = ""
        if variants and "variant" in r:
            v = r["variant"]
            vb = v.get("baseline", b)  # with --variant-baseline: the baseline at the variant's settings
            variant_gains.append(v["train_derained"]["psnr"] - vb["train_derained"]["psnr"])
            variant_heldout.append(v["heldout"]["psnr"] - vb["heldout"]["psnr"])
            variant_photo = "n/a"
            if "photo_derained" in v:
                variant_photo_gains.append(v["photo_derained"]["psnr"] - vb["train_derained"]["psnr"])
                variant_photo = f"{variant_photo_gains[-1]:+.2f}"
            variant = f" {variant_gains[-1]:+.2f} / {variant_photo} / {variant_heldout[-1]:+.2f} |"
        lines.append(
            f"| {r['scene']}{' (photos)' if scene.photos else ''} | {scene.num_train}/{scene.num_test}, "
            f"{scene.width}x{scene.height} | {opts.get('blend', 'additive')}, {length}, "
            f"{100 * rain['coverage']:.0f}% | {r['rainy_inputs']['psnr']:.2f} | {b['train_derained']['psnr']:.2f} / "
            f"{m['train_derained']['psnr']:.2f} ({gain:+.2f}) | {r['clean-trained']['train_derained']['psnr']:.2f} "
            f"({headroom:+.2f}) | {'-' if math.isnan(recovered[-1]) else f'{recovered[-1]:.2f}'} | "
            f"{b['train_derained']['ssim']:.3f} / "
            f"{m['train_derained']['ssim']:.3f} | {photo} | {b['heldout']['psnr']:.2f} / {m['heldout']['psnr']:.2f} "
            f"({diff:+.2f}) | {m['angle_error_deg']:.2f} | {m['rain_l1']:.4f} ({m['zero_rain_l1']:.4f}) | "
            f"{b['seconds_per_step']:.3f} / {m['seconds_per_step']:.3f} |{variant}"
        )
    if results:
        lines += [
            "",
            f"- {len(results)} of {len(SUITE)} scenes ran ({', '.join(r['scene'] for r in results)})",
            *(
                [
                    "- derained training photos (`ns-rainyscape-derain`'s photo/: each photo less its rain layer "
                    "clamped to the photo's top-hats, its dark streaks from the render), against the baseline's "
                    "render: median "
                    f"{np.median(photo_gains):+.2f} dB, worst {min(photo_gains):+.2f} dB (bars: median >= +2, "
                    f"worst >= +1); SSIM median {np.median(photo_ssim_gains):+.3f}, worst {min(photo_ssim_gains):+.3f}"
                ]
                if photo_gains
                else []
            ),
            f"- the render of the training views (the 3D scene), rainyscape - baseline: median "
            f"{np.median(gains):+.2f} dB, worst {min(gains):+.2f} dB",
            f"- recovered share of the clean-trained headroom: median {np.nanmedian(recovered):.2f}, worst "
            f"{np.nanmin(recovered):.2f} (- where the clean-trained run is not above the baseline)",
            f"- held-out PSNR, rainyscape - baseline: median {np.median(heldout):+.2f} dB, worst {min(heldout):+.2f} "
            "dB (bar: never below -0.3)",
            *(
                [
                    f"- variant `{variants[0]}`: render gain median {np.median(variant_gains):+.2f} dB, worst "
                    f"{min(variant_gains):+.2f} dB; derained photo gain median "
                    f"{np.median(variant_photo_gains or [float('nan')]):+.2f}, worst "
                    f"{min(variant_photo_gains or [float('nan')]):+.2f} dB; held-out median "
                    f"{np.median(variant_heldout):+.2f}, worst {min(variant_heldout):+.2f} dB"
                ]
                if variants and variant_gains
                else []
            ),
            f"- rain angle error: median {np.median(angles):.2f} deg, worst {max(angles):.2f} deg (bar: < 5 on "
            "scenes with a dominant angle)",
            "- `ns-rainyscape-derain` on each scene's run wrote (clean renders / rain layers / photos without rain): "
            + ", ".join(
                f"{r['scene']} {'/'.join(str(n) for n in r['derain_cli_images'])}"
                for r in results
                if "derain_cli_images" in r
            ),
        ]
    lines += ["", *SUITE_NOTES]
    lines += ["", f"1-min load average {load[0]:.2f} before / {load[1]:.2f} after (2 cores shared with other jobs)."]
    return "\n".join(lines)


def run_suite(args) -> None:
    load_before = os.getloadavg()[0]
    names = [s.name for s in SUITE]
    unknown = sorted(set(args.scenes or []) - set(names))
    if unknown:
        raise SystemExit(f"unknown suite scene(s) {', '.join(unknown)}; known: {', '.join(names)}")
    if args.jobs > 1:  # on shared cores a second torch thread mostly spins (10-17x slower steps here)
        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)
    chosen = [scene for scene in SUITE if not args.scenes or scene.name in args.scenes]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(lambda scene: run_suite_scene(args, scene, args.work_dir / "suite" / scene.name), chosen))
    results = [
        json.loads(f.read_text())
        for name in names
        for f in [args.work_dir / "suite" / name / "result.json"]
        if f.is_file()
    ]
    results = [r for r in results if r["steps"] == args.steps]
    text = suite_markdown(args, results, (load_before, os.getloadavg()[0]))
    print(text)
    if args.write:
        write_section("rainyscape_suite", text)
        print(f"wrote {RESULTS}")


def main() -> None:
    from ns_plugins.rainyscape.evaluation import rainy_input_metrics

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--num-train", type=int, default=32)
    parser.add_argument("--num-test", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--other-seeds", type=int, nargs="*", default=[1, 2], help="also run scenes of these seeds (a gains table)"
    )
    parser.add_argument("--work-dir", type=Path, default=ROOT / "outputs" / "bench_rainyscape")
    parser.add_argument(
        "--reuse", action="store_true", help="evaluate existing runs in --work-dir instead of training again"
    )
    parser.add_argument("--only", nargs="*", default=None, help="run only these methods (e.g. rainyscape-small)")
    parser.add_argument("--write", action="store_true", help="write the table to benchmarks/RESULTS.md")
    parser.add_argument(
        "--suite", action="store_true", help="run the variation suite instead (see the module docstring)"
    )
    parser.add_argument("--scenes", nargs="*", default=None, help="--suite: only these scenes (default: all)")
    parser.add_argument(
        "--jobs", type=int, default=1, help="--suite: scenes run side by side (each with one torch thread when > 1)"
    )
    parser.add_argument(
        "--extra", type=shlex.split, default=[], help="--suite: extra ns-train arguments for both methods, one string"
    )
    parser.add_argument(
        "--variant", default=None, help="--suite: also train rainyscape-small with --variant-extra, in runs/NAME"
    )
    parser.add_argument(
        "--variant-extra", type=shlex.split, default=[], help="--suite: the --variant run's extra arguments"
    )
    parser.add_argument(
        "--variant-baseline",
        action="store_true",
        help="--suite: also train splatfacto-portable with --variant-extra (e.g. a machine seed) and compare the "
        "variant with that run",
    )
    parser.add_argument(
        "--method-extra",
        type=shlex.split,
        default=[],
        help="--suite: extra ns-train arguments for rainyscape-small only, one string (knobs the baseline lacks)",
    )
    args = parser.parse_args()
    if args.suite:
        run_suite(args)
        return
    load_before = os.getloadavg()[0]

    rows, configs, datasets, rain_info = run_scene(args, args.seed, args.work_dir)
    per_seed, costs = {}, {}
    if ("rainy", "rainyscape-small") in rows and ("rainy", "splatfacto-portable") in rows:
        costs = step_costs({m: configs[("rainy", m)] for m in ("splatfacto-portable", "rainyscape-small")})
        per_seed[args.seed] = seed_gains(rows)
        for seed in args.other_seeds:
            per_seed[seed] = seed_gains(run_scene(args, seed, args.work_dir / f"seed{seed}", upper_bound=False)[0])
            print(json.dumps({"seed": seed, **per_seed[seed]}), flush=True)
    text = markdown(
        args,
        rows,
        rain_info,
        rainy_input_metrics(datasets["rainy"]),
        (load_before, os.getloadavg()[0]),
        costs,
        per_seed,
    )
    print(text)
    if args.write:
        write_section("rainyscape", text)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
