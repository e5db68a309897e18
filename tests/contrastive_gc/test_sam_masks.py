"""ns-cgc-masks: SAM's automatic mask generator on a tiny randomly initialised SAM, overlaps, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ns_plugins.contrastive_gc.sam_masks import MasksArgs, combine_masks, load_sam, main, write_segment_map
from ns_plugins.contrastive_gc.segments import read_segment_map
from ns_plugins.data.errors import DataError

TINY_IMAGE = 64
"""Input size of the tiny SAM (the real ones take 1024)."""


def tiny_sam(checkpoint=None):
    """A SAM with the real model classes and tiny dimensions (one ViT block, 16 channels), random weights."""
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    dim, patch = 16, 16
    sam = Sam(
        image_encoder=ImageEncoderViT(
            img_size=TINY_IMAGE,
            patch_size=patch,
            embed_dim=dim,
            depth=1,
            num_heads=1,
            out_chans=dim,
            # as segment-anything's own builders pass it (its annotation says a class)
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),  # pyright: ignore[reportArgumentType]
            use_rel_pos=True,
            window_size=2,
            global_attn_indexes=(0,),
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=dim,
            image_embedding_size=(TINY_IMAGE // patch, TINY_IMAGE // patch),
            input_image_size=(TINY_IMAGE, TINY_IMAGE),
            mask_in_chans=4,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=1, embedding_dim=dim, mlp_dim=32, num_heads=1),
            transformer_dim=dim,
            iou_head_depth=1,
            iou_head_hidden_dim=16,
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
    if checkpoint is not None:  # as segment-anything's builders load theirs
        sam.load_state_dict(torch.load(checkpoint))
    return sam.eval()


def small_dataset(root: Path) -> Path:
    data = root / "data"
    (data / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    frames = []
    for i, (h, w) in enumerate(((24, 32), (32, 24))):
        image = np.zeros((h, w, 3), np.uint8)
        image[: h // 2] = (200, 40, 40)
        image[h // 2 :, : w // 2] = (40, 200, 40)
        image = np.clip(image + rng.integers(0, 20, image.shape), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(data / "images" / f"view_{i}.png")
        frames.append({"file_path": f"images/view_{i}.png"})
    (data / "transforms.json").write_text(json.dumps({"frames": frames}))
    return data


def test_generator_writes_one_map_per_image(tmp_path: Path, monkeypatch):
    segment_anything = pytest.importorskip(
        "segment_anything", reason="segment-anything is not installed (pip install 'ns-plugins[sam]')"
    )
    torch.manual_seed(0)
    checkpoint = tmp_path / "tiny_sam.pth"
    torch.save(tiny_sam().state_dict(), checkpoint)
    monkeypatch.setitem(segment_anything.sam_model_registry, "vit_b", tiny_sam)
    data = small_dataset(tmp_path)
    # random weights predict poor masks: SAM's quality filters off so that some come through
    args = MasksArgs(
        data=data,
        sam_checkpoint=checkpoint,
        model_type="vit_b",
        points_per_side=4,
        pred_iou_thresh=0.0,
        stability_score_thresh=0.0,
        device="cpu",
    )
    counts = main(args)
    assert sorted(counts) == ["view_0", "view_1"] and max(counts.values()) >= 1
    for stem, size in (("view_0", (32, 24)), ("view_1", (24, 32))):
        path = data / "segments" / f"{stem}.png"
        with Image.open(path) as img:
            assert img.mode == "L" and img.size == size
        ids = read_segment_map(path)
        assert set(np.unique(ids[ids > 0]).tolist()) == set(range(1, counts[stem] + 1))  # consecutive ids


def test_smaller_masks_on_top_and_ids_consecutive():
    whole = np.zeros((4, 4), bool)
    whole[:, :3] = True
    part = np.zeros((4, 4), bool)
    part[:2, :2] = True
    hidden = np.zeros((4, 4), bool)
    hidden[0, 0] = True
    covered = part.copy()  # as large as `part`, painted first: nothing of it stays visible
    masks = [
        {"segmentation": part, "area": 4},
        {"segmentation": whole, "area": 12},
        {"segmentation": covered, "area": 4},
        {"segmentation": hidden, "area": 1},
    ]
    ids = combine_masks(masks, 4, 4)
    assert ids[0, 0] == 3 and ids[1, 1] == 2 and ids[3, 0] == 1 and ids[0, 3] == 0
    assert sorted(np.unique(ids).tolist()) == [0, 1, 2, 3]


def test_16_bit_when_more_than_255_segments(tmp_path: Path):
    ids = np.arange(300).reshape(15, 20)
    with Image.open(write_segment_map(tmp_path / "a.png", ids)) as img:
        assert img.mode.startswith("I")
    assert (read_segment_map(tmp_path / "a.png") == ids).all()


def test_missing_checkpoint_is_one_line(tmp_path: Path):
    pytest.importorskip("segment_anything", reason="segment-anything is not installed (pip install 'ns-plugins[sam]')")
    data = small_dataset(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ns_plugins.contrastive_gc.sam_masks",
            "--data",
            str(data),
            "--sam-checkpoint",
            str(tmp_path / "none.pth"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path / 'none.pth'}: SAM checkpoint not found")


def test_missing_package_is_one_line(tmp_path: Path, monkeypatch):
    monkeypatch.setitem(sys.modules, "segment_anything", None)  # as if not installed
    with pytest.raises(DataError, match=r"not installed: pip install 'ns-plugins\[sam\]'"):
        load_sam("vit_b", tmp_path / "none.pth", "cpu")
