"""contrastive-gc on the synthetic scene with inconsistent masks: segmentation quality and step cost.

    python benchmarks/bench_contrastive_gc.py [--steps 600] [--seeds 0 1] [--write] [--reuse]
    python benchmarks/bench_contrastive_gc.py --suite [--steps 1500] [--scenes A B ..] [--write] [--reuse]

``--suite``: the variation suite (``SUITE``: scenes that vary the seed, object count, view count,
image size and every kind of mask inconsistency the ``inconsistent-masks`` degradation makes),
each trained once with ``contrastive-gc-small``, one after the other; per scene the held-out mIoU
of ``ns-cgc-segment``'s defaults (no number of clusters given), clusters found vs true, ARI, step
cost, and as a diagnosis the mIoU of k-means with the true number of clusters (features vs
clustering); then the median and the worst. Otherwise:

1. ``ns-plugins-synth --degradation inconsistent-masks`` for each ``--seeds`` (default 0 and 1):
   24 train / 8 held-out views, 64x64;
   training masks have per-view permuted ids, merged objects in some views, the ground and sky
   labelled in only some views.
2. ``ns-train contrastive-gc-small`` (the method, CPU preset) and the naive baseline (same preset,
   ``--pipeline.model.segmentation-loss raw-id-cross-entropy``: each view's ids taken as consistent
   class labels, 16 logits per Gaussian); all trainings run side by side.
3. ``ns-cgc-segment``'s clustering (``auto``: K chosen from the data, on the Gaussians the training
   views see, for the method; argmax for the baseline) and masks for the held-out views; mIoU against
   ``gt/instance`` (segments: sky, ground, each object; one-to-one Hungarian matching; unmatched
   clusters count as false positives with IoU 0). The sky is a segment because the masks label it
   (in 70% of views, as SAM does): a user who feeds such masks expects it back as an object. The
   paper's benchmarks (LERF-Mask, 3D-OVS) score only the queried objects, so an objects-only mIoU
   (the same matching; mean IoU of the ground and the objects, no false-positive term) is
   reported next to it.
   ARI of the labels of Gaussians with opacity >= 0.1 vs the instance of the nearest seed point.
4. Seconds per training step (forward, losses, backward, Adam step; no densification) of
   contrastive-gc-small and splatfacto-portable on the same Gaussians (the trained method's),
   same views, same process, alternating.

``--write`` replaces this benchmark's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Optional, cast

import numpy as np
import torch

from bench_common import write_section

if TYPE_CHECKING:
    from nerfstudio.data.dataparsers.base_dataparser import DataparserOutputs

    from ns_plugins.contrastive_gc.model import ContrastiveGCModel

ROOT = Path(__file__).resolve().parents[1]


def ns(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def start_training(data: Path, out: Path, name: str, steps: int, *extra: str) -> subprocess.Popen:
    """Start ns-train contrastive-gc-small in the background (logs to ``out/<name>.log``)."""
    cmd = [
        ns("ns-train"),
        "contrastive-gc-small",
        "--data",
        str(data),
        "--output-dir",
        str(out),
        "--experiment-name",
        name,
        "--timestamp",
        "t",
        "--max-num-iterations",
        str(steps),
        "--steps-per-save",
        str(steps),
        "--vis",
        "tensorboard",
        "--viewer.quit-on-train-completion",
        "True",
        "--steps-per-eval-all-images",
        "1000000",
        *extra,
    ]
    out.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(cmd, stdout=open(out / f"{name}.log", "w"), stderr=subprocess.STDOUT)


def train_all(datasets: dict, root: Path, steps: int) -> dict:
    """The method and the naive baseline on every dataset, all side by side
    -> {seed: {"method": config.yml, "naive": config.yml}}."""
    procs = {}
    for seed, data in datasets.items():
        out = root / f"seed{seed}" / "runs"
        procs[seed, "method"] = (out, start_training(data, out, "method", steps))
        procs[seed, "naive"] = (
            out,
            start_training(data, out, "naive", steps, "--pipeline.model.segmentation-loss", "raw-id-cross-entropy"),
        )
    for (seed, name), (out, proc) in procs.items():
        if proc.wait() != 0:
            raise RuntimeError(
                f"ns-train {name} failed; see {out / (name + '.log')}:\n" + (out / f"{name}.log").read_text()[-3000:]
            )
    return {
        seed: {name: next(procs[seed, name][0].glob(f"{name}/*/t/config.yml")) for name in ("method", "naive")}
        for seed in datasets
    }


def sky_labelled(data: Path) -> bool:
    """Whether any training mask labels the sky (the degradation's record in gt/scene.json)."""
    import json

    views = json.loads((data / "gt" / "scene.json").read_text())["degradation"]["views"]
    return any(v["sky_labelled"] for v in views.values())


def evaluate_segmentation(config: Path, data: Path, true_k: bool = False) -> dict:
    """Held-out mIoU and 3D ARI of a trained run (``ns-cgc-segment``'s defaults; with ``true_k`` also
    the ablations: labels by the features instead of the masks' votes, and k-means with the true number of
    segments).

    Truth segments: sky (when some training mask labels it; else its pixels only count in unions),
    ground, each object.
    """
    from nerfstudio.utils.eval_utils import eval_setup

    from ns_plugins.contrastive_gc.evaluation import adjusted_rand_index, matched_miou, nearest_point_labels
    from ns_plugins.contrastive_gc.segment_cli import (
        SegmentArgs,
        cluster_model,
        segment_views,
        training_segments,
        views_to_label,
    )
    from ns_plugins.data import writer
    from ns_plugins.data.dataparser import read_ply_points
    from ns_plugins.data.scene import BACKGROUND_ID

    _, pipeline, _, _ = eval_setup(config, test_mode="test")
    model = cast("ContrastiveGCModel", pipeline.model)  # a contrastive-gc run
    args = SegmentArgs(load_config=config, output_dir=Path("unused"))
    train_dataset = pipeline.datamanager.train_dataset
    assert train_dataset is not None  # eval_setup's datamanager loads the training split
    cameras, segments = train_dataset.cameras, training_segments(pipeline)
    clustering = cluster_model(model, args, cameras, segments)
    views = views_to_label(pipeline, "test", None)
    masks = segment_views(model, views, clustering, args.min_alpha)
    truth = [writer.read_uint16_png(data / writer.INSTANCE_DIR / f"{stem}.png") for stem in masks]
    ignore = () if sky_labelled(data) else (BACKGROUND_ID,)
    miou = matched_miou(list(masks.values()), truth, ignore_truth=ignore)
    # objects only (the paper's benchmarks score the segments asked for): same matching, sky left out,
    # no false-positive term
    objects = [v for k, v in miou["per_segment"].items() if k != BACKGROUND_ID]
    # the object under each Gaussian: nearest seed point, in the dataparser's coordinates
    xyz, _ = read_ply_points(data / writer.PLY_NAME)
    # set by the datamanager's __init__; nerfstudio's DataManager base class does not declare it
    outputs = cast("DataparserOutputs", pipeline.datamanager.train_dataparser_outputs)
    transform = outputs.dataparser_transform.numpy()
    points = (xyz @ transform[:, :3].T + transform[:, 3]) * float(outputs.dataparser_scale)
    visible = (torch.sigmoid(model.opacities).reshape(-1) >= 0.1).cpu().numpy()
    means = model.means.detach().cpu().numpy()[visible]
    truth3d = nearest_point_labels(means, points, np.load(data / writer.POINTS_INSTANCE))
    truth_ids = miou["per_segment"]
    result = {
        "miou": miou["miou"],
        "per_segment": miou["per_segment"],
        "unmatched": miou["unmatched_clusters"],
        "miou_objects": float(np.mean(objects)),
        "clusters": clustering.num_clusters,
        "true_segments": len(miou["per_segment"]),
        "choice": clustering.choice,
        "ari": adjusted_rand_index(clustering.labels[visible], truth3d),
        "gaussians": int(model.means.shape[0]),
    }
    if true_k:
        for key, change in (
            ("miou_features", {"labels": "features"}),
            ("miou_true_k", {"num_clusters": len(truth_ids)}),
        ):
            other = cluster_model(model, replace(args, **change), cameras, segments)
            result[key] = matched_miou(
                list(segment_views(model, views, other, args.min_alpha).values()), truth, ignore_truth=ignore
            )["miou"]
    return result


def step_seconds(config: Path, repeats: int) -> dict:
    """Median seconds per training step of contrastive-gc-small vs splatfacto-portable on the trained Gaussians."""
    import yaml
    from nerfstudio.configs.method_configs import all_methods

    cgc_config = yaml.load(config.read_text(), Loader=yaml.Loader)
    base_config = all_methods["splatfacto-portable"]
    base_config.pipeline.datamanager.data = cgc_config.pipeline.datamanager.data
    base_config.pipeline.model.run_steps = cgc_config.pipeline.model.run_steps
    pipelines = {}
    for name, cfg in (("contrastive-gc-small", cgc_config), ("splatfacto-portable", base_config)):
        cfg.pipeline.datamanager.data = cgc_config.pipeline.datamanager.data
        pipelines[name] = cfg.pipeline.setup(device="cpu", test_mode="val")
    ckpt = torch.load(next(config.parent.glob("nerfstudio_models/*.ckpt")), map_location="cpu", weights_only=False)
    state = {k[len("_model.") :]: v for k, v in ckpt["pipeline"].items() if k.startswith("_model.gauss_params.")}
    for name, pipe in pipelines.items():
        model = pipe.model
        own = {k: v for k, v in state.items() if k.split(".")[1] in model.gauss_params}
        for k, v in own.items():
            model.gauss_params[k.split(".")[1]] = torch.nn.Parameter(v.clone())
        model.step = model.config.run_steps - 1  # full SH degree, full resolution
        model.train()
    from nerfstudio.engine.optimizers import Optimizers

    configs = {"contrastive-gc-small": cgc_config, "splatfacto-portable": base_config}
    optims = {n: Optimizers(configs[n].optimizers, pipe.model.get_param_groups()) for n, pipe in pipelines.items()}
    for n, pipe in pipelines.items():
        pipe.model.step_cb(optims[n], pipe.model.step)
    times = {n: [] for n in pipelines}
    num_train = len(next(iter(pipelines.values())).datamanager.train_dataset)
    for r in range(repeats + 2):
        for name, pipe in pipelines.items():
            camera, batch = pipe.datamanager.next_train(r % num_train)
            t0 = time.perf_counter()
            outputs = pipe.model(camera)
            loss = cast(torch.Tensor, sum(pipe.model.get_loss_dict(outputs, batch).values()))
            loss.backward()
            optims[name].optimizer_step_all()
            optims[name].zero_grad_all()
            if r >= 2:  # warm-up
                times[name].append(time.perf_counter() - t0)
    counts = {n: int(p.model.means.shape[0]) for n, p in pipelines.items()}
    return {"median": {n: float(np.median(t)) for n, t in times.items()}, "gaussians": counts}


def load_average() -> float:
    return os.getloadavg()[0]


def markdown(cmd: str, steps: int, results: dict, speed: dict, loads: tuple, seconds: float) -> str:
    """RESULTS.md section; ``results``: seed -> {"method": {...}, "naive": {...}}."""
    ratio = speed["median"]["contrastive-gc-small"] / speed["median"]["splatfacto-portable"]
    n = speed["gaussians"]["splatfacto-portable"]
    rows, per_lines = [], []
    for seed, res in results.items():
        method, naive = res["method"], res["naive"]
        rows.append(
            f"| {seed} | contrastive-gc-small | auto ({method['clusters']} clusters) | **{method['miou']:.3f}** | "
            f"{method['miou_objects']:.3f} | {method['unmatched']} | {method['ari']:.3f} | {method['gaussians']} |"
        )
        rows.append(
            f"| {seed} | naive: cross-entropy on raw ids | argmax ({naive['clusters'] + 1} classes) | "
            f"{naive['miou']:.3f} | {naive['miou_objects']:.3f} | {naive['unmatched']} | {naive['ari']:.3f} | "
            f"{naive['gaussians']} |"
        )
        per = ", ".join(f"{k}: {v:.2f}" for k, v in sorted(method["per_segment"].items()))
        naive_per = ", ".join(f"{k}: {v:.2f}" for k, v in sorted(naive["per_segment"].items()))
        per_lines.append(
            f"Per-segment IoU, seed {seed} (id: IoU; 0 sky, 1 ground, 2.. objects): method {per}; naive {naive_per}."
        )
    seeds = ", ".join(str(s) for s in results)
    lines = [
        "## contrastive-gc: 3D segmentation from inconsistent masks",
        "",
        f"Command: `{cmd}` — {datetime.date.today()}, {platform.machine()}, nproc {os.cpu_count()}, torch "
        f"{torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}; "
        f"{seconds / 60:.0f} min in all.",
        f"Data, per seed ({seeds}): `ns-plugins-synth --seed S --num-train 24 --num-test 8 --width 64 --height 64 "
        "--degradation inconsistent-masks` (ids permuted per view, two objects merged in 30% of views, ground "
        "labelled in 50%, sky in 70%). Preset `contrastive-gc-small` (contrastive loss every step, masks >= 10 px, "
        "contrastive weight 0.1, no spatial term (its far push splits a surrounding sky; see `small_scene_model` in "
        f"config.py), feature lr 0.05, full resolution from the start), {steps} steps; the schedule follows the run "
        "length.",
        "Clustering (`ns-cgc-segment` defaults): `auto` (K from the segments each training view labels, then the "
        "highest silhouette) fitted on the Gaussians with opacity >= 0.1 that render at least 1 labelled pixel "
        "(summed blend weight) of the training views; then each Gaussian labelled by the training masks' votes "
        "(`--labels mask-votes`: each segment takes the cluster covering most of it, each labelled pixel votes with "
        "each Gaussian's blend weight) and masks rendered from the labels.",
        "mIoU: held-out views vs `gt/instance`, segments sky, ground and each object (the masks label the sky, so a "
        "user expects it back), one-to-one matching, unmatched clusters count as false positives (IoU 0), predicted "
        "0 (no object) is a miss, not a cluster. Objects-only mIoU: mean IoU of the ground and the objects under the "
        "same matching, no false-positive term (the paper's LERF-Mask/3D-OVS protocol scores only the segments asked "
        "for). ARI: labels of Gaussians with opacity >= 0.1 vs the instance of the nearest seed point.",
        "",
        "| seed | run | clustering | held-out mIoU | objects-only mIoU | unmatched clusters | ARI (3D) | Gaussians |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        *per_lines,
        "",
        f"Step cost on the same {n} Gaussians (seed {next(iter(results))}'s trained method; forward + losses + "
        "backward + Adam, 64x64, median of the alternated steps): contrastive-gc-small "
        f"{1000 * speed['median']['contrastive-gc-small']:.1f} ms, splatfacto-portable "
        f"{1000 * speed['median']['splatfacto-portable']:.1f} ms: **{ratio:.2f}x** (the preset renders and trains "
        "the features every step and has no spatial term; with the authors' every-50-steps schedule only one step in "
        "50 renders them).",
        "",
        f"1-min load average {loads[0]:.2f} before / {loads[1]:.2f} after (the 2 cores were shared with other "
        "engineers' runs; the four trainings run side by side).",
    ]
    return "\n".join(lines)


SUITE = [
    # name, seed, objects, train views, held-out views, image size, inconsistent-masks options
    ("A", 10, 3, 12, 4, 48, {"merge_prob": 0.0, "ground_prob": 1.0, "sky_prob": 1.0}),
    ("B", 11, 4, 16, 6, 64, {"merge_prob": 0.25, "ground_prob": 0.5, "sky_prob": 0.0}),  # the scene
    ("C", 12, 5, 24, 6, 48, {"merge_prob": 0.4, "ground_prob": 0.3, "sky_prob": 0.7, "split_prob": 0.3}),
    ("D", 13, 6, 32, 8, 56, {"merge_prob": 0.2, "ground_prob": 0.7, "sky_prob": 1.0, "boundary_px": 2}),
    ("E", 14, 8, 48, 8, 48, {"merge_prob": 0.3, "ground_prob": 0.5, "sky_prob": 0.5, "missing_prob": 0.2}),
    (
        "F",
        15,
        7,
        20,
        6,
        56,
        {"merge_prob": 0.1, "ground_prob": 1.0, "sky_prob": 0.0, "split_prob": 0.2, "boundary_px": 1},
    ),
    (
        "G",
        16,
        3,
        40,
        8,
        48,
        {"merge_prob": 0.4, "ground_prob": 0.3, "sky_prob": 0.7, "missing_prob": 0.3, "boundary_px": 1},
    ),
    (
        "H",
        17,
        5,
        28,
        6,
        64,
        {
            "merge_prob": 0.3,
            "ground_prob": 0.5,
            "sky_prob": 0.5,
            "split_prob": 0.3,
            "boundary_px": 2,
            "missing_prob": 0.15,
        },
    ),
]
"""The variation suite; every scene also sets max_id 20 (room for split parts)."""


SUITE_STEPS = 1500  # the CPU preset's own run length (contrastive-gc-small)


def suite_dataset(root: Path, scene: tuple, reuse: bool) -> Path:
    """Generate (or with ``reuse`` keep) one suite scene's dataset -> its folder."""
    from ns_plugins.data.synth_cli import generate_dataset

    name, seed, objects, train_views, test_views, size, options = scene
    data = root / name / "data"
    if reuse and (data / "transforms.json").is_file():
        return data
    return generate_dataset(
        data,
        seed=seed,
        num_train=train_views,
        num_test=test_views,
        width=size,
        height=size,
        num_objects=objects,
        degradation="inconsistent-masks",
        degradation_options={**options, "max_id": 20},
        overwrite=True,
    )


def run_suite(root: Path, steps: int, reuse: bool, names: Optional[list] = None) -> dict:
    """Train the suite's scenes (all, or those ``names``; one at a time), then score them -> name -> result."""
    from bench_common import seconds_per_step, train

    runs = {}
    for scene in [
        s for s in SUITE if names is None or s[0] in names
    ]:  # all trainings first: scoring again later needs only --reuse
        data = suite_dataset(root, scene, reuse)
        runs[scene[0]] = (
            data,
            train("contrastive-gc-small", data, root / scene[0] / "runs", "method", steps, reuse=reuse),
        )
    results = {}
    for name, (data, config) in runs.items():
        results[name] = {**evaluate_segmentation(config, data, true_k=True), "step_ms": 1000 * seconds_per_step(config)}
        print(name, {k: v for k, v in results[name].items() if k != "per_segment"}, flush=True)
    return results


def describe_options(options: dict) -> str:
    """Short text of a scene's mask inconsistencies."""
    parts = [
        f"merge {options.get('merge_prob', 0):.0%}",
        f"ground {options.get('ground_prob', 0):.0%}",
        f"sky {options.get('sky_prob', 0):.0%}",
    ]
    for key, label in (("split_prob", "split"), ("missing_prob", "missing")):
        if options.get(key):
            parts.append(f"{label} {options[key]:.0%}")
    if options.get("boundary_px"):
        parts.append(f"boundary ±{options['boundary_px']} px")
    return ", ".join(parts)


def markdown_suite(cmd: str, steps: int, results: dict, loads: tuple, seconds: float) -> str:
    """RESULTS.md section of the variation suite."""
    rows = []
    for name, seed, objects, train_views, test_views, size, options in SUITE:
        if name not in results:
            continue
        r = results[name]
        rows.append(
            f"| {name} | {seed} | {objects} | {train_views}/{test_views} | {size} | {describe_options(options)} | "
            f"**{r['miou']:.3f}** | {r['clusters']} / {r['true_segments']} | {r['ari']:.3f} | {r['miou_features']:.3f} "
            f"| {r['miou_true_k']:.3f} | {r['step_ms']:.0f} | {r['gaussians']} |"
        )
    mious = [r["miou"] for r in results.values()]
    true_k = [r["miou_true_k"] for r in results.values()]
    by_features = [r["miou_features"] for r in results.values()]
    aris = [r["ari"] for r in results.values()]
    exact = sum(r["clusters"] == r["true_segments"] for r in results.values())
    lines = [
        "## contrastive-gc: variation suite (no number of clusters given)",
        "",
        f"Command: `{cmd}` — {datetime.date.today()}, {platform.machine()}, nproc {os.cpu_count()}, torch "
        f"{torch.__version__}, Python {platform.python_version()}; {seconds / 60:.0f} min in all; one training at a "
        "time.",
        "Each scene: `ns-plugins-synth --degradation inconsistent-masks` with the options below (ids permuted per "
        "view in all; merge: two objects merged in that share of views; ground/sky: share of views that label them; "
        "split: one object cut into 2-3 parts; missing: each object left out of a view's masks; boundary: each "
        f"segment dilated or eroded by 1..N px), then `ns-train contrastive-gc-small --max-num-iterations {steps}` "
        "(CPU preset), then `ns-cgc-segment`'s defaults (`auto`: the range of cluster counts from the segments each "
        "training view labels, the count with the highest silhouette, fitted on the Gaussians that labelled training "
        "pixels saw; then `--labels mask-votes`: each training mask's segment takes the cluster covering most of it, "
        "every labelled pixel votes for it with each Gaussian's blend weight, each Gaussian takes the majority, 0 "
        "where its votes are under 10% of what it renders; held-out masks are the labels rendered).",
        "mIoU: held-out views vs `gt/instance`; segments: sky (only where some training mask labels it), ground, "
        "each object; one-to-one matching, unmatched clusters count as IoU 0. Clusters: found / true segments. ARI: "
        "3D labels of Gaussians with opacity >= 0.1 vs the instance of the nearest seed point. Ablations: labels by "
        "features (`--labels features`: each Gaussian and each pixel's rendered feature to the nearest centre, the "
        "default before 2026-12-06), and k-means with the true count (is a shortfall the clustering's?). Step: "
        "median ms per training step over the second half of the run (shared machine).",
        "",
        "| scene | seed | objects | views train/held-out | px | masks | held-out mIoU | clusters found / true | ARI "
        "| mIoU, labels by features | mIoU k-means true K | step ms | Gaussians |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"{len(results)} scenes. **Median held-out mIoU {np.median(mious):.3f}, worst {min(mious):.3f}** (labels by "
        f"features: median {np.median(by_features):.3f}, worst {min(by_features):.3f}; k-means with the true K: "
        f"median {np.median(true_k):.3f}, worst {min(true_k):.3f}); cluster count exact in {exact} "
        f"of {len(results)} scenes; ARI median {np.median(aris):.3f}, worst {min(aris):.3f}.",
        "",
        f"1-min load average {loads[0]:.2f} before / {loads[1]:.2f} after (2 cores shared with other engineers' runs).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--steps", type=int, default=None, help="training steps (default 600; --suite: 1500, the preset's)"
    )
    parser.add_argument("--suite", action="store_true", help="the variation suite instead of the two-seed comparison")
    parser.add_argument("--scenes", nargs="+", default=None, help="with --suite: only these scenes (default: all)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="synthetic scenes to train and score")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/bench_contrastive_gc"))
    parser.add_argument("--speed-repeats", type=int, default=20)
    parser.add_argument("--write", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the datasets and runs of an earlier call in --work-dir"
    )
    args = parser.parse_args()
    if args.suite:
        steps = args.steps or SUITE_STEPS
        t_start, load_before = time.time(), load_average()
        results = run_suite(args.work_dir / "suite", steps, args.reuse, args.scenes)
        cmd = (
            "python benchmarks/bench_contrastive_gc.py --suite"
            + (f" --steps {steps}" if steps != SUITE_STEPS else "")
            + " --write"
        )
        text = markdown_suite(cmd, steps, results, (load_before, load_average()), time.time() - t_start)
        if args.reuse:
            text = text.replace("` — ", "` (scored again with `--reuse` on the runs that command trained) — ", 1)
        print(text)
        if args.write:
            write_section("contrastive_gc_suite", text, before="deblurgs")
        return
    args.steps = args.steps or 600
    from ns_plugins.data.synth_cli import generate_dataset

    t_start, load_before = time.time(), load_average()
    datasets = {seed: args.work_dir / f"seed{seed}" / "data" for seed in args.seeds}
    if args.reuse:
        configs = {
            seed: {
                n: next((args.work_dir / f"seed{seed}" / "runs").glob(f"{n}/*/t/config.yml"))
                for n in ("method", "naive")
            }
            for seed in args.seeds
        }
    else:
        for seed, data in datasets.items():
            generate_dataset(
                data,
                seed=seed,
                num_train=24,
                num_test=8,
                width=64,
                height=64,
                degradation="inconsistent-masks",
                overwrite=True,
            )
        configs = train_all(datasets, args.work_dir, args.steps)
    results = {}
    for seed, data in datasets.items():
        results[seed] = {n: evaluate_segmentation(cfg, data) for n, cfg in configs[seed].items()}
        print("seed", seed, results[seed], flush=True)
    speed = step_seconds(configs[args.seeds[0]]["method"], args.speed_repeats)
    print("speed", speed, flush=True)
    cmd = "python benchmarks/bench_contrastive_gc.py" + (f" --steps {args.steps}" if args.steps != 600 else "")
    cmd += (" --seeds " + " ".join(map(str, args.seeds)) if args.seeds != [0, 1] else "") + " --write"
    text = markdown(cmd, args.steps, results, speed, (load_before, load_average()), time.time() - t_start)
    if args.reuse:
        text = text.replace("` — ", "` (scored and timed again with `--reuse` on the runs that command trained) — ", 1)
    print(text)
    if args.write:
        write_section("contrastive_gc", text)


if __name__ == "__main__":
    main()
