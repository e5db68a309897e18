"""``ns-cgc-segment``: cluster a trained contrastive-gc model; masks, one PLY per object, labels.

    ns-cgc-segment --load-config outputs/.../config.yml --output-dir seg/ [--split train|test]
        [--num-clusters K] [--method auto|hdbscan|kmeans] [--camera-path-filename path.json]

writes

    seg/masks/<image stem>.png   16-bit cluster ids of each view (0 = no object); with a camera
                                 path, seg/masks/00000.png, 00001.png, ...
    seg/objects/<id>.ply         the Gaussians of cluster <id> (3DGS PLY + seg_feature_*)
    seg/labels.npy               int32 [N], the cluster id of every Gaussian (0 = no object)
    seg/centers.npy              float32 [K, E] unit feature centre of clusters 1..K
    seg/summary.json             clusters, Gaussians per cluster, settings, and why this many
                                 clusters (``choice``: segments per training view, the K range,
                                 the silhouette of each K)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, List, Literal, Optional, Tuple

import numpy as np
import torch

from ns_plugins.contrastive_gc.clustering import (
    Clustering,
    cluster_gaussians,
    label_pixels,
    mask_segment_counts,
    merge_by_mask_votes,
    merged,
)
from ns_plugins.contrastive_gc.datamanager import SEGMENTS_KEY
from ns_plugins.contrastive_gc.features import normalize
from ns_plugins.contrastive_gc.label_lifting import compact_labels, segments_as_clusters, voted_labels
from ns_plugins.contrastive_gc.visibility import blend_weight_channels, blend_weight_sums, render_channels
from ns_plugins.data import writer
from ns_plugins.data.errors import DataError, exits_on_data_error
from ns_plugins.splat.export import splat_ply_columns, write_ply

if TYPE_CHECKING:  # nerfstudio is imported when a command runs
    from nerfstudio.cameras.cameras import Cameras


@dataclass
class SegmentArgs:
    """Cluster a trained contrastive-gc model; write per-view masks, one PLY per object and a label file."""

    load_config: Path
    """config.yml of an ns-train contrastive-gc run."""
    output_dir: Path
    """Folder for masks/, objects/, labels.npy."""
    split: Literal["train", "test"] = "test"
    """Which of the dataset's views get masks."""
    camera_path_filename: Optional[Path] = None
    """A nerfstudio camera path (ns-render's JSON): masks for its cameras instead of a split."""
    method: Literal["auto", "hdbscan", "kmeans", "argmax"] = "auto"
    """Clustering; auto chooses the number of clusters from the data (the segments the training
    views label, then the silhouette; see clustering.py), or argmax for a raw-id-cross-entropy model."""
    num_clusters: Optional[int] = None
    """Number of clusters (k-means); overrides auto's choice."""
    max_clusters: Optional[int] = None
    """Largest number of clusters auto tries (default: twice the most segments a training view labels)."""
    min_cluster_size: Optional[int] = None
    """HDBSCAN's minimum cluster size (default: 2% of the fitted Gaussians)."""
    min_opacity: float = 0.1
    """Only Gaussians at least this opaque are fitted (all are labelled)."""
    min_visibility: float = 1.0
    """Only Gaussians that render at least this many pixels (summed blend weight) of the training
    views are fitted (all are labelled); 0 skips the visibility pass."""
    min_trusted_visibility: float = 0.1
    """Pixels rendered mostly by Gaussians with less summed blend weight than this on labelled training
    pixels get 0 (the loss never shaped their features). Below ``min_visibility``: a run with more
    Gaussians than labelled pixels has most Gaussians under a pixel each (suite: 1.0 left 44% of the
    held-out sky unlabelled)."""
    visibility_views: Optional[int] = 64
    """Training views rendered for the visibility (evenly spaced; None: all)."""
    min_alpha: float = 0.5
    """Pixels with less accumulated opacity get 0."""
    mask_merge_share: Optional[float] = 0.5
    """auto: clusters that the training masks put in one segment in at least this share of the views
    showing both are merged (one object the clustering split); None: no merging."""
    labels: Literal["mask-votes", "features"] = "mask-votes"
    """How each Gaussian is labelled once the clusters are found. ``mask-votes``: every labelled pixel
    of the training masks votes, with each Gaussian's blend weight, for the cluster covering most of
    its segment, and a Gaussian takes the majority (sharper at object edges than the features; see
    label_lifting.py); masks are then rendered from the labels. ``features``: the nearest cluster
    centre of each Gaussian's feature, and of each pixel's rendered feature. Without training
    masks, ``features``."""
    min_labelled_share: float = 0.1
    """mask-votes: Gaussians whose labelled pixels make up less than this share of what they render in
    the training views get 0 (no object): a segment labelled in fewer than about 1 in 10 of the views
    that show it is too thin a vote (the sky behind an object's edge when no mask labels the sky)."""
    seed: int = 0


def training_segments(pipeline) -> List[Optional[torch.Tensor]]:
    """Segment map [H, W] of each training view (None where it has none), as the datamanager loaded them."""
    return [entry.get(SEGMENTS_KEY) for entry in pipeline.datamanager.cached_train]


def cluster_model(model, args: SegmentArgs, train_cameras=None, train_segments: Optional[List] = None) -> Clustering:
    """Clustering of ``model``'s Gaussians as ``args`` says.

    ``train_cameras`` give the visibility; ``train_segments`` (per training view [H, W] ids) restrict
    it to labelled pixels and give auto the number of segments each view labels.
    """
    method = args.method
    if method == "auto" and model.config.segmentation_loss == "raw-id-cross-entropy":
        method = "argmax"
    visibility, counts = None, None
    if train_segments is not None and method != "argmax":
        counts = mask_segment_counts(
            [s.cpu().numpy() for s in train_segments if s is not None], model.config.min_mask_pixels
        )
    if method != "argmax" and args.min_visibility > 0 and train_cameras is not None:
        weights = None if train_segments is None else [None if s is None else (s > 0).float() for s in train_segments]
        visibility = blend_weight_sums(model, train_cameras, args.visibility_views, weights)
    clustering = cluster_gaussians(
        model.seg_features,
        torch.sigmoid(model.opacities).reshape(-1),
        method=method,
        num_clusters=args.num_clusters,
        min_cluster_size=args.min_cluster_size,
        min_opacity=args.min_opacity,
        visibility=visibility,
        min_visibility=args.min_visibility,
        min_trusted_visibility=args.min_trusted_visibility,
        segment_counts=counts,
        max_clusters=args.max_clusters,
        seed=args.seed,
    )
    if method == "auto" and not args.num_clusters and args.mask_merge_share is not None and train_segments:
        clustering = merge_clusters_masks_join(model, clustering, args, train_cameras, train_segments)
    if method != "argmax" and args.labels == "mask-votes" and train_segments and train_cameras is not None:
        clustering = lift_mask_votes(model, clustering, args, train_cameras, train_segments)
    return clustering


def training_cluster_maps(model, clustering: Clustering, train_cameras, count: int, min_alpha: float) -> List:
    """The clustering's label map [H, W] of each of the first ``count`` training views."""
    views = [(str(i), train_cameras[i : i + 1]) for i in range(count)]
    return list(segment_views(model, views, clustering, min_alpha).values())


def lift_mask_votes(
    model, clustering: Clustering, args: SegmentArgs, train_cameras, train_segments: List
) -> Clustering:
    """``clustering`` with every Gaussian labelled by the training masks' votes (label_lifting.py); the
    centres become the mean unit feature of each label, and what changed is recorded in its choice."""
    cluster_maps = training_cluster_maps(model, clustering, train_cameras, len(train_segments), args.min_alpha)
    num = clustering.num_clusters + 1
    weights = {}
    for i, (clusters, segments) in enumerate(zip(cluster_maps, train_segments)):
        if segments is None:
            continue
        voted = torch.from_numpy(segments_as_clusters(clusters, segments.cpu().numpy()))
        one_hot = torch.nn.functional.one_hot(voted, num).float()
        one_hot[..., 0] = 1.0  # channel 0: every pixel, what each Gaussian renders in all
        weights[i] = one_hot
    sums = blend_weight_channels(model, train_cameras, weights, num).cpu().numpy()
    labels, old_ids = compact_labels(voted_labels(sums, sums[:, 0], args.min_labelled_share))
    unit = normalize(model.seg_features.detach().float().cpu())
    rows = torch.from_numpy(np.flatnonzero(labels > 0))
    centers = torch.zeros(len(old_ids), unit.shape[1]).index_add_(
        0, torch.from_numpy(labels).long()[rows] - 1, unit[rows]
    )
    before = clustering.labels
    choice = dict(clustering.choice)
    choice["mask_votes"] = {
        "views": len(weights),
        "min_labelled_share": args.min_labelled_share,
        "gaussians_relabelled": int(((labels > 0) & (old_ids[np.maximum(labels - 1, 0)] != before)).sum()),
        "gaussians_without_votes": int((labels == 0).sum()),
        "clusters_without_votes": sorted(set(range(1, num)) - set(old_ids.tolist())),
    }
    choice["reason"] = (
        f"{choice.get('reason', '')}; each Gaussian labelled by the training masks' votes "
        f"({choice['mask_votes']['gaussians_relabelled']} relabelled, {len(old_ids)} clusters kept)"
    )
    return replace(
        clustering, labels=labels, centers=normalize(centers).numpy(), trained=None, by_label=True, choice=choice
    )


def merge_clusters_masks_join(
    model, clustering: Clustering, args: SegmentArgs, train_cameras, train_segments: List
) -> Clustering:
    """``clustering`` with the clusters the training masks keep in one segment merged (recorded in its choice)."""
    cluster_maps = training_cluster_maps(model, clustering, train_cameras, len(train_segments), args.min_alpha)
    segment_maps = [None if s is None else s.cpu().numpy() for s in train_segments]
    group, merges = merge_by_mask_votes(
        cluster_maps,
        segment_maps,
        clustering.num_clusters,
        min_share=args.mask_merge_share or 0.5,
        min_pixels=model.config.min_mask_pixels,
    )
    choice = dict(clustering.choice)
    choice["mask_merges"] = merges
    if merges:
        choice["reason"] = (
            f"{choice.get('reason', '')}; {len(merges)} pair(s) of clusters merged: the training masks put them in "
            f"one segment in at least {args.mask_merge_share:.0%} of the views showing both"
        )
    unit = normalize(model.seg_features.detach().float().cpu()).numpy()
    return replace(merged(clustering, unit, group), choice=choice)


def views_to_label(pipeline, split: str, camera_path: Optional[Path]) -> List[Tuple[str, Cameras]]:
    """(stem, camera [1]) of each view to mask."""
    if camera_path is not None:
        from nerfstudio.cameras.camera_paths import get_path_from_json

        if not camera_path.is_file():
            raise DataError(camera_path, "camera path file does not exist")
        cameras = get_path_from_json(json.loads(camera_path.read_text()))
        return [(f"{i:05d}", cameras[i : i + 1]) for i in range(len(cameras))]
    dm = pipeline.datamanager
    dataset = dm.train_dataset if split == "train" else dm.eval_dataset
    return [(Path(f).stem, dataset.cameras[i : i + 1]) for i, f in enumerate(dataset.image_filenames)]


def segment_views(model, views: List[Tuple[str, Cameras]], clustering: Clustering, min_alpha: float) -> dict:
    """stem -> mask [H, W] int32 for each view (features and the weight of trained Gaussians in one pass)."""
    masks = {}
    trained = None if clustering.trained is None else torch.from_numpy(clustering.trained).to(model.device)
    if clustering.by_label:  # the labels as one-hot channels, label 0 competing
        labels = torch.from_numpy(clustering.labels.astype(np.int64)).to(model.device)
        channels = torch.nn.functional.one_hot(labels, clustering.num_clusters + 1).float()
    else:
        channels = (
            model.seg_features if trained is None else torch.cat([model.seg_features, trained[:, None].float()], 1)
        )
    width = channels.shape[1] - (trained is not None)
    for stem, camera in views:
        camera = camera.to(model.device)
        with torch.no_grad():
            rendered, alpha = render_channels(model, camera, channels)
        features = rendered[..., :width]
        trained_weight = None if trained is None else rendered[..., -1:]
        masks[stem] = label_pixels(features, alpha, clustering, min_alpha, trained_weight)
    return masks


def write_outputs(model, clustering: Clustering, masks: dict, output_dir: Path, settings: dict) -> dict:
    """Write masks/, objects/, labels.npy, centers.npy, summary.json -> the summary."""
    output_dir = Path(output_dir)
    for stem, mask in masks.items():
        writer.write_uint16_png(output_dir / "masks" / f"{stem}.png", mask)
    labels = clustering.labels
    np.save(output_dir / "labels.npy", labels.astype(np.int32))
    np.save(output_dir / "centers.npy", clustering.centers.astype(np.float32))
    counts = {}
    for cluster in range(1, clustering.num_clusters + 1):
        rows = torch.from_numpy(np.flatnonzero(labels == cluster))
        if len(rows) == 0:
            continue
        write_ply(output_dir / "objects" / f"{cluster}.ply", splat_ply_columns(model, rows))
        counts[str(cluster)] = int(len(rows))
    summary = {
        "num_clusters": len(counts),
        "choice": clustering.choice,
        "gaussians_per_cluster": counts,
        "unlabelled_gaussians": int((labels == 0).sum()),
        "views": sorted(masks),
        "settings": settings,
    }
    writer.write_json(output_dir / "summary.json", summary)
    return summary


def main(args: SegmentArgs) -> dict:
    """Run the segmentation for parsed arguments."""
    from nerfstudio.utils.eval_utils import eval_setup

    if not Path(args.load_config).is_file():
        raise DataError(args.load_config, "config file does not exist")
    _, pipeline, _, _ = eval_setup(Path(args.load_config), test_mode="test" if args.split == "test" else "val")
    model = pipeline.model
    if not hasattr(model, "seg_features"):
        raise DataError(args.load_config, "not a contrastive-gc run (its model has no segmentation features)")
    model.eval()
    train_dataset = pipeline.datamanager.train_dataset
    assert train_dataset is not None  # eval_setup's datamanager loads the training split
    clustering = cluster_model(model, args, train_dataset.cameras, training_segments(pipeline))
    masks = segment_views(
        model, views_to_label(pipeline, args.split, args.camera_path_filename), clustering, args.min_alpha
    )
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(args).items()}
    summary = write_outputs(model, clustering, masks, args.output_dir, settings)
    print(clustering.choice.get("reason", ""))
    print(
        f"{summary['num_clusters']} clusters over {len(clustering.labels)} Gaussians; {len(masks)} masks in "
        f"{args.output_dir / 'masks'}, objects in {args.output_dir / 'objects'}, labels in "
        f"{args.output_dir / 'labels.npy'}"
    )
    return summary


@exits_on_data_error
def entrypoint() -> None:
    """Console script ``ns-cgc-segment``."""
    import tyro

    main(tyro.cli(SegmentArgs))


if __name__ == "__main__":
    entrypoint()
