"""Segment maps: the degradation that makes them and the loader's errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ns_plugins.contrastive_gc.datamanager import SegmentsDatamanagerConfig
from ns_plugins.contrastive_gc.segments import fit_to_image, load_segments, read_segment_map
from ns_plugins.contrastive_gc.simulate import view_segments
from ns_plugins.data import writer
from ns_plugins.data.dataparser import PortableNerfstudioDataParserConfig
from ns_plugins.data.errors import DataError
from ns_plugins.data.synth_cli import generate_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cgc_data") / "data"
    return generate_dataset(
        out, seed=1, num_train=6, num_test=2, width=32, height=32, num_seed_points=500, degradation="inconsistent-masks"
    )


def test_degradation_writes_inconsistent_segments(dataset: Path):
    stems = [p.stem for p in sorted((dataset / "segments").glob("*.png"))]
    assert len(stems) == 6
    truth = [writer.read_uint16_png(dataset / "gt/instance" / f"{s}.png") for s in stems]
    segs = [writer.read_uint16_png(dataset / "segments" / f"{s}.png") for s in stems]
    for seg, inst in zip(segs, truth):
        # every segment lies inside one true instance or a merge of instances: a segment never splits an instance
        for i in np.unique(inst):
            assert len(np.unique(seg[inst == i])) == 1
    # the same true object carries different ids across views
    ids_of_object = {int(np.unique(s[t == 2])[0]) for s, t in zip(segs, truth) if (t == 2).any()}
    assert len(ids_of_object) > 1


def test_view_segments_merges_and_drops():
    inst = np.array([[0, 1, 2, 3], [0, 1, 2, 3]])
    rng = np.random.default_rng(0)
    seg, info = view_segments(inst, rng, merge_prob=1.0, ground_prob=0.0, sky_prob=0.0, max_id=5)
    assert (seg[inst == 0] == 0).all() and (seg[inst == 1] == 0).all()
    assert info["merged"] == [2, 3] and seg[0, 2] == seg[0, 3] != 0


def test_reads_8_16_bit_and_rgb(tmp_path: Path):
    ids = np.array([[0, 1], [300, 2]], dtype=np.uint16)
    writer.write_uint16_png(tmp_path / "a.png", ids)
    assert (read_segment_map(tmp_path / "a.png") == ids).all()
    Image.fromarray(np.array([[0, 5], [5, 9]], dtype=np.uint8)).save(tmp_path / "b.png")
    assert read_segment_map(tmp_path / "b.png").tolist() == [[0, 5], [5, 9]]
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 1] = (255, 0, 0)
    rgb[1, 1] = (0, 0, 255)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    got = read_segment_map(tmp_path / "c.png")
    assert got[0, 0] == got[1, 0] == 0 and len({got[0, 1], got[1, 1]} - {0}) == 2  # colours become distinct ids


def test_downscale_is_nearest_and_other_sizes_fail(tmp_path: Path):
    ids = np.repeat(np.repeat(np.array([[1, 2], [3, 4]]), 4, 0), 4, 1)  # 8x8 blocks
    assert fit_to_image(ids, 4, 4, tmp_path).tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    with pytest.raises(DataError, match="8x8 but its image is 5x5"):
        fit_to_image(ids, 5, 5, tmp_path / "x.png")


def test_loader_errors_name_the_file(tmp_path: Path, dataset: Path):
    img = [dataset / "images/frame_00000.png"]
    with pytest.raises(DataError) as err:
        load_segments(img, [(32, 32)], tmp_path, "segments", required=True)
    assert "no segment maps" in str(err.value) and str(tmp_path / "segments") in str(err.value)
    (tmp_path / "segments").mkdir()
    writer.write_uint16_png(tmp_path / "segments/other.png", np.zeros((32, 32)))
    with pytest.raises(DataError) as err:
        load_segments(img, [(32, 32)], tmp_path, "segments", required=True)
    assert "frame_00000.png" in str(err.value) and "missing" in str(err.value)
    writer.write_uint16_png(tmp_path / "segments/frame_00000.png", np.zeros((20, 32)))
    with pytest.raises(DataError, match="frame_00000.png: segment map is 32x20 but its image is 32x32"):
        load_segments(img, [(32, 32)], tmp_path, "segments", required=True)
    assert load_segments(img, [(32, 32)], tmp_path / "nowhere", "segments", required=False) == [None]


def test_datamanager_attaches_segments_and_reports_missing_folder(tmp_path: Path, dataset: Path):
    config = SegmentsDatamanagerConfig(
        dataparser=PortableNerfstudioDataParserConfig(data=dataset), cache_images_type="uint8"
    )
    dm = config.setup(device="cpu")
    _, batch = dm.next_train(0)
    assert batch["segments"].shape == batch["image"].shape[:2] and batch["segments"].dtype == torch.int32
    bad = SegmentsDatamanagerConfig(dataparser=PortableNerfstudioDataParserConfig(data=dataset), segments_folder="nope")
    with pytest.raises(DataError, match="no segment maps"):
        bad.setup(device="cpu").next_train(0)


def test_view_segments_missing_split_and_boundary_noise():
    inst = np.zeros((48, 48), dtype=np.int32)
    inst[30:] = 1  # ground
    inst[10:24, 4:18] = 2
    inst[12:40, 24:40] = 3
    rng = np.random.default_rng(0)
    seg, info = view_segments(inst, rng, 0.0, 1.0, 1.0, 20, missing_prob=1.0)
    assert info["missing"] == [2, 3] and (seg[(inst == 2) | (inst == 3)] == 0).all() and (seg[inst == 1] > 0).all()
    seg, info = view_segments(inst, rng, 0.0, 1.0, 1.0, 20, split_prob=1.0)
    target, parts = info["split"]
    assert parts >= 2 and len(np.unique(seg[inst == target])) == parts
    clean, _ = view_segments(inst, np.random.default_rng(1), 0.0, 1.0, 1.0, 20)
    noisy, _ = view_segments(inst, np.random.default_rng(1), 0.0, 1.0, 1.0, 20, boundary_px=2)
    changed = (clean > 0) != (noisy > 0)
    for i in np.unique(inst):  # each true instance stays mostly one segment; only its rim changes
        ids, counts = np.unique(noisy[inst == i], return_counts=True)
        assert counts.max() > 0.5 * (inst == i).sum()
    assert 0 < changed.mean() < 0.3
    # options left at 0 draw nothing: the default datasets keep their masks
    a, _ = view_segments(inst, np.random.default_rng(5), 0.3, 0.5, 0.7, 12)
    b, _ = view_segments(inst, np.random.default_rng(5), 0.3, 0.5, 0.7, 12, 0.0, 0.0, 0)
    assert (a == b).all()
