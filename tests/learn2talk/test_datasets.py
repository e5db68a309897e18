import pickle

import numpy as np
import pytest
import torch

from ns_plugins.data.errors import DataError
from ns_plugins.learn2talk.talking_head.audio import FeatureConfig, write_wav
from ns_plugins.learn2talk.talking_head.datasets import load_dataset

FEAT = FeatureConfig()
V = 30


def _folder(root, frames=25, audio_s=1.0, verts=V):
    (root / "templates").mkdir(parents=True)
    (root / "train").mkdir()
    np.save(root / "templates" / "s1.npy", np.zeros((V, 3), np.float32))
    (root / "lip_vertex_ids.txt").write_text("0 1 2 3")
    (root / "upper_face_vertex_ids.txt").write_text("10,11,12")
    write_wav(root / "train" / "s1__a.wav", torch.randn(int(16000 * audio_s)) * 0.1)
    np.save(root / "train" / "s1__a.npy", np.random.rand(frames, verts, 3).astype(np.float32))
    return root


def test_folder_layout_loads(tmp_path):
    data = load_dataset(_folder(tmp_path, frames=26), "train", FEAT)  # one frame off: within tolerance, trimmed
    seq = data.sequences[0]
    assert seq.speaker == "s1" and seq.vertices.shape == (25, V, 3) and seq.audio.shape == (16000,)
    assert data.lip_vertex_ids.tolist() == [0, 1, 2, 3] and data.upper_face_vertex_ids.tolist() == [10, 11, 12]
    assert data.speakers == ["s1"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"verts": V + 1}, r"s1__a.npy: 31 vertices per frame but the template has 30"),
        ({"frames": 40}, r"s1__a.npy: audio covers 25 frames .* the motion has 40 frames"),
        ({"audio_s": 0.02, "frames": 1}, r"s1__a.npy: audio of 20.0 ms is shorter than one motion frame"),
    ],
)
def test_folder_layout_errors(tmp_path, kwargs, message):
    root = _folder(tmp_path, **kwargs)
    with pytest.raises(DataError, match=message):
        load_dataset(root, "train", FEAT)


def test_unreadable_audio_and_missing_index_sets(tmp_path):
    root = _folder(tmp_path)
    (root / "train" / "s1__a.wav").write_bytes(b"RIFF....garbage")
    with pytest.raises(DataError, match=r"s1__a.wav: unreadable audio"):
        load_dataset(root, "train", FEAT)
    root2 = _folder(tmp_path / "b")
    (root2 / "lip_vertex_ids.txt").unlink()
    with pytest.raises(DataError, match="--lip-ids"):
        load_dataset(root2, "train", FEAT)
    (root2 / "lips.txt").write_text("1 2 99")
    with pytest.raises(DataError, match=r"lips.txt: vertex indices must lie in \[0, 30\)"):
        load_dataset(root2, "train", FEAT, lip_ids=root2 / "lips.txt")


def test_biwi_and_vocaset_layouts(tmp_path):
    biwi = tmp_path / "biwi"
    (biwi / "wav").mkdir(parents=True)
    (biwi / "vertices_npy").mkdir()
    (biwi / "regions").mkdir()
    for name in ("F1_e01", "F1_e38"):
        write_wav(biwi / "wav" / f"{name}.wav", torch.randn(16000) * 0.1)
        np.save(biwi / "vertices_npy" / f"{name}.npy", np.random.rand(25, V * 3).astype(np.float32))
    with open(biwi / "templates.pkl", "wb") as f:
        pickle.dump({"F1": np.zeros((V, 3))}, f)
    (biwi / "regions" / "lve.txt").write_text("1 2")
    (biwi / "regions" / "fdd.txt").write_text("5 6")
    train, test = load_dataset(biwi, "train", FEAT), load_dataset(biwi, "test", FEAT)
    assert [s.name for s in train.sequences] == ["F1_e01"] and [s.name for s in test.sequences] == ["F1_e38"]
    assert train.sequences[0].vertices.shape == (25, V, 3)

    voca = tmp_path / "voca"
    voca.mkdir()
    subj = "FaceTalk_170809_00138_TA"  # a test speaker
    np.save(voca / "data_verts.npy", np.random.rand(60, V, 3).astype(np.float32))
    with open(voca / "raw_audio_fixed.pkl", "wb") as f:
        pickle.dump(
            {subj: {"sentence01": {"audio": np.random.randn(22000).astype(np.float32) * 0.1, "sample_rate": 22000}}}, f
        )
    with open(voca / "templates.pkl", "wb") as f:
        pickle.dump({subj: np.zeros((V, 3))}, f)
    with open(voca / "subj_seq_to_idx.pkl", "wb") as f:
        pickle.dump({subj: {"sentence01": {i: i for i in range(60)}}}, f)
    (voca / "lip_vertex_ids.txt").write_text("1 2")
    (voca / "upper_face_vertex_ids.txt").write_text("3")
    data = load_dataset(voca, "test", FeatureConfig(fps=30))
    assert data.sequences[0].vertices.shape == (30, V, 3) and data.sequences[0].audio.shape == (16000,)
    with pytest.raises(DataError, match="30 fps"):
        load_dataset(voca, "test", FEAT)


def test_nan_vertices_and_templates_are_refused(tmp_path):
    root = _folder(tmp_path / "a")
    verts = np.load(root / "train" / "s1__a.npy")
    verts[3, 5, 1] = np.nan
    np.save(root / "train" / "s1__a.npy", verts)
    with pytest.raises(DataError, match=r"s1__a.npy: the vertices hold NaN or infinite values"):
        load_dataset(root, "train", FEAT)
    root = _folder(tmp_path / "b")
    np.save(root / "templates" / "s1.npy", np.full((V, 3), np.inf, np.float32))
    with pytest.raises(DataError, match=r"s1.npy: the template holds NaN or infinite values"):
        load_dataset(root, "train", FEAT)
