"""Talking-face datasets: the simple folder layout, VOCASET and BIWI, loaded into one form.

Folder layout (what ``ns-l2t synth`` writes)::

    DIR/meta.json                       {"fps": 25, "speakers": [...]}   (optional; fps else --fps)
    DIR/templates/<speaker>.npy         [V, 3] neutral mesh per speaker (or DIR/template.npy for all)
    DIR/lip_vertex_ids.txt              lip vertex indices (whitespace separated)
    DIR/upper_face_vertex_ids.txt       upper-face vertex indices
    DIR/faces.npy, DIR/vertex_colors.npy   optional, for renders
    DIR/<split>/<speaker>__<name>.wav + .npy   audio and [T, V, 3] vertices

VOCASET (raw release): data_verts.npy [N, 5023, 3] at 60 fps, raw_audio_fixed.pkl, templates.pkl,
subj_seq_to_idx.pkl; subsampled to 30 fps; FaceFormer's speaker split. BIWI (FaceFormer's
processing): wav/<Speaker>_<seq>.wav, vertices_npy/<Speaker>_<seq>.npy [T, V*3] at 25 fps,
templates.pkl, regions/lve.txt and regions/fdd.txt; sentences 1-32 train, 33-36 val, 37-40 test.
Vertex index sets come from the files above or from --lip-ids / --upper-ids files.
"""

from __future__ import annotations

import json
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ns_plugins.data.errors import DataError
from ns_plugins.learn2talk.talking_head.audio import FeatureConfig, num_motion_frames, read_wav, resample

SPLITS = ("train", "val", "test")
VOCASET_SPEAKERS = {
    "train": [
        "FaceTalk_170728_03272_TA",
        "FaceTalk_170904_00128_TA",
        "FaceTalk_170725_00137_TA",
        "FaceTalk_170915_00223_TA",
        "FaceTalk_170811_03274_TA",
        "FaceTalk_170913_03279_TA",
        "FaceTalk_170904_03276_TA",
        "FaceTalk_170912_03278_TA",
    ],
    "val": ["FaceTalk_170811_03275_TA", "FaceTalk_170908_03277_TA"],
    "test": ["FaceTalk_170809_00138_TA", "FaceTalk_170731_00024_TA"],
}


@dataclass
class TalkingSequence:
    name: str
    speaker: str
    audio: torch.Tensor  # [N] at the dataset's sample rate
    vertices: torch.Tensor  # [T, V, 3]
    source: str  # file named in errors

    @property
    def num_frames(self) -> int:
        return int(self.vertices.shape[0])


@dataclass
class TalkingDataset:
    sequences: list[TalkingSequence]
    templates: dict[str, torch.Tensor]  # speaker -> [V, 3]
    lip_vertex_ids: torch.Tensor  # [L]
    upper_face_vertex_ids: torch.Tensor  # [U]
    fps: float
    sample_rate: int = 16000
    speakers: list[str] = field(default_factory=list)  # style one-hot order (training speakers)
    faces: torch.Tensor | None = None  # [F, 3]
    vertex_colors: torch.Tensor | None = None  # [V, 3]

    def template(self, speaker: str) -> torch.Tensor:
        return self.templates[speaker] if speaker in self.templates else self.templates["*"]

    def lip_offsets(self) -> list[torch.Tensor]:
        """Each sequence's lip vertices relative to its speaker's template, [T, L, 3] (SyncNet3D's input)."""
        return [(s.vertices - self.template(s.speaker))[:, self.lip_vertex_ids] for s in self.sequences]


def read_index_file(path: Path) -> torch.Tensor:
    """Whitespace/comma separated vertex indices -> [L] long."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "vertex index file not found")
    try:
        ids = [int(x) for x in re.split(r"[\s,]+", path.read_text().strip()) if x]
    except ValueError:
        raise DataError(path, "vertex index file must hold integers separated by spaces, commas or newlines") from None
    if not ids:
        raise DataError(path, "vertex index file is empty")
    return torch.tensor(ids, dtype=torch.long)


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except (ValueError, OSError) as err:
        raise DataError(path, f"unreadable .npy array ({err})") from None


def _load_pickle(path: Path) -> Any:
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except Exception as err:  # noqa: BLE001 - any unpickling failure is a bad file
        raise DataError(path, f"unreadable pickle ({err})") from None


def check_sequence(
    source: Path,
    audio: torch.Tensor,
    vertices: torch.Tensor,
    template: torch.Tensor,
    feat: FeatureConfig,
    tolerance_s: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate one sequence; trim audio and motion to a common length within ``tolerance_s``."""
    if vertices.ndim != 3 or vertices.shape[-1] != 3:
        raise DataError(source, f"vertices must be a [T, V, 3] array, got shape {list(vertices.shape)}")
    if vertices.shape[1] != template.shape[0]:
        raise DataError(source, f"{vertices.shape[1]} vertices per frame but the template has {template.shape[0]}")
    if not torch.isfinite(vertices).all():
        raise DataError(source, "the vertices hold NaN or infinite values")
    if not torch.isfinite(audio).all():
        raise DataError(source, "the audio holds NaN or infinite samples")
    n_audio = num_motion_frames(audio.shape[0], feat)
    if n_audio < 1:
        raise DataError(
            source,
            f"audio of {audio.shape[0] / feat.sample_rate * 1000:.1f} ms is shorter than one motion frame "
            f"({1000 / feat.fps:.1f} ms)",
        )
    if abs(n_audio - vertices.shape[0]) > max(1, round(tolerance_s * feat.fps)):
        raise DataError(
            source,
            f"audio covers {n_audio} frames ({audio.shape[0] / feat.sample_rate:.2f} s) but the motion has "
            f"{vertices.shape[0]} frames at {feat.fps:g} fps (tolerance {tolerance_s:g} s)",
        )
    t = min(n_audio, vertices.shape[0])
    n = int(round(t * feat.sample_rate / feat.fps))
    return audio[:n], vertices[:t]


def _index_sets(
    root: Path, lip_ids: Path | None, upper_ids: Path | None, defaults: tuple[Path, Path], num_vertices: int
) -> tuple[torch.Tensor, torch.Tensor]:
    out = []
    for given, default, what in ((lip_ids, defaults[0], "--lip-ids"), (upper_ids, defaults[1], "--upper-ids")):
        path = given or default
        if not Path(path).exists():
            raise DataError(root, f"no vertex index set {default.name}: give one with {what} FILE")
        ids = read_index_file(path)
        if ids.min() < 0 or ids.max() >= num_vertices:
            raise DataError(path, f"vertex indices must lie in [0, {num_vertices}) (the template's vertex count)")
        out.append(ids)
    return out[0], out[1]


def load_folder(
    root: Path,
    split: str,
    feat: FeatureConfig,
    lip_ids: Path | None = None,
    upper_ids: Path | None = None,
    tolerance_s: float = 0.1,
) -> TalkingDataset:
    root = Path(root)
    meta = json.loads((root / "meta.json").read_text()) if (root / "meta.json").exists() else {}
    if "fps" in meta and float(meta["fps"]) != feat.fps:
        raise DataError(
            root / "meta.json", f"the data is at {meta['fps']} fps but the features are configured for {feat.fps:g} fps"
        )
    templates = {}
    if (root / "templates").is_dir():
        templates = {p.stem: torch.from_numpy(_load_npy(p)).float() for p in sorted((root / "templates").glob("*.npy"))}
    if (root / "template.npy").exists():
        templates["*"] = torch.from_numpy(_load_npy(root / "template.npy")).float()
    if not templates:
        raise DataError(root, "no template mesh: expected templates/<speaker>.npy or template.npy")
    for name, tpl in templates.items():
        path = root / ("template.npy" if name == "*" else f"templates/{name}.npy")
        if tpl.ndim != 2 or tpl.shape[1] != 3:
            raise DataError(path, f"a template must be a [V, 3] array, got shape {list(tpl.shape)}")
        if not torch.isfinite(tpl).all():
            raise DataError(path, "the template holds NaN or infinite values")
    split_dir = root / split
    wavs = sorted(split_dir.glob("*.wav"))
    if not wavs:
        raise DataError(split_dir, "no .wav files in this split")
    sequences = []
    for wav in wavs:
        npy = wav.with_suffix(".npy")
        speaker = wav.stem.split("__")[0] if "__" in wav.stem else "*"
        if speaker not in templates and "*" not in templates:
            raise DataError(wav, f"no template for speaker {speaker!r} (templates/{speaker}.npy)")
        tpl = templates[speaker] if speaker in templates else templates["*"]
        audio = read_wav(wav, feat.sample_rate)
        verts = torch.from_numpy(_load_npy(npy)).float()
        audio, verts = check_sequence(npy, audio, verts, tpl, feat, tolerance_s)
        sequences.append(TalkingSequence(wav.stem, speaker, audio, verts, str(npy)))
    v = next(iter(templates.values())).shape[0]
    lips, upper = _index_sets(
        root, lip_ids, upper_ids, (root / "lip_vertex_ids.txt", root / "upper_face_vertex_ids.txt"), v
    )
    speakers = meta.get("speakers") or sorted({s.speaker for s in sequences})
    faces = torch.from_numpy(_load_npy(root / "faces.npy")).long() if (root / "faces.npy").exists() else None
    colors = (
        torch.from_numpy(_load_npy(root / "vertex_colors.npy")).float()
        if (root / "vertex_colors.npy").exists()
        else None
    )
    return TalkingDataset(sequences, templates, lips, upper, feat.fps, feat.sample_rate, list(speakers), faces, colors)


def load_vocaset(
    root: Path,
    split: str,
    feat: FeatureConfig,
    lip_ids: Path | None = None,
    upper_ids: Path | None = None,
    tolerance_s: float = 0.2,
) -> TalkingDataset:
    root = Path(root)
    if feat.fps != 30:
        raise DataError(
            root,
            f"VOCASET is used at 30 fps (60 fps subsampled by 2); the features are configured for {feat.fps:g} fps "
            "(--fps 30)",
        )
    verts_all = np.load(root / "data_verts.npy", mmap_mode="r")
    audio_all = _load_pickle(root / "raw_audio_fixed.pkl")
    templates = {
        k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in _load_pickle(root / "templates.pkl").items()
    }
    index = _load_pickle(root / "subj_seq_to_idx.pkl")
    sequences = []
    for subj in VOCASET_SPEAKERS[split]:
        for seq, frames in sorted(index.get(subj, {}).items()):
            src = root / f"data_verts.npy[{subj}/{seq}]"
            if subj not in audio_all or seq not in audio_all[subj]:
                raise DataError(root / "raw_audio_fixed.pkl", f"no audio for {subj}/{seq}")
            a = audio_all[subj][seq]
            audio = resample(
                torch.from_numpy(np.asarray(a["audio"], dtype=np.float32)), int(a["sample_rate"]), feat.sample_rate
            )
            ids = [frames[k] for k in sorted(frames)][::2]  # 60 -> 30 fps
            verts = torch.from_numpy(np.asarray(verts_all[ids], dtype=np.float32))
            audio, verts = check_sequence(src, audio, verts, templates[subj], feat, tolerance_s)
            sequences.append(TalkingSequence(f"{subj}__{seq}", subj, audio, verts, str(src)))
    if not sequences:
        raise DataError(root / "subj_seq_to_idx.pkl", f"no sequences of the {split} speakers")
    v = next(iter(templates.values())).shape[0]
    lips, upper = _index_sets(
        root, lip_ids, upper_ids, (root / "lip_vertex_ids.txt", root / "upper_face_vertex_ids.txt"), v
    )
    return TalkingDataset(sequences, templates, lips, upper, feat.fps, feat.sample_rate, VOCASET_SPEAKERS["train"])


def load_biwi(
    root: Path,
    split: str,
    feat: FeatureConfig,
    lip_ids: Path | None = None,
    upper_ids: Path | None = None,
    tolerance_s: float = 0.2,
) -> TalkingDataset:
    root = Path(root)
    templates = {
        k: torch.from_numpy(np.asarray(v, dtype=np.float32).reshape(-1, 3))
        for k, v in _load_pickle(root / "templates.pkl").items()
    }
    ranges = {"train": range(1, 33), "val": range(33, 37), "test": range(37, 41)}[split]
    sequences = []
    for wav in sorted((root / "wav").glob("*.wav")):
        m = re.match(r"(.+)_e?(\d+)$", wav.stem)
        if not m or int(m.group(2)) not in ranges:
            continue
        speaker = m.group(1)
        npy = root / "vertices_npy" / f"{wav.stem}.npy"
        if speaker not in templates:
            raise DataError(wav, f"no template for speaker {speaker!r} in templates.pkl")
        arr = _load_npy(npy)
        verts = torch.from_numpy(arr.reshape(arr.shape[0], -1, 3).astype(np.float32))
        audio, verts = check_sequence(
            npy, read_wav(wav, feat.sample_rate), verts, templates[speaker], feat, tolerance_s
        )
        sequences.append(TalkingSequence(wav.stem, speaker, audio, verts, str(npy)))
    if not sequences:
        raise DataError(
            root / "wav", f"no sequences of the {split} split (sentence numbers {ranges.start}-{ranges.stop - 1})"
        )
    v = next(iter(templates.values())).shape[0]
    lips, upper = _index_sets(root, lip_ids, upper_ids, (root / "regions" / "lve.txt", root / "regions" / "fdd.txt"), v)
    return TalkingDataset(sequences, templates, lips, upper, feat.fps, feat.sample_rate, sorted(templates))


def detect_layout(root: Path) -> str:
    root = Path(root)
    if (root / "data_verts.npy").exists():
        return "vocaset"
    if (root / "vertices_npy").is_dir() and (root / "templates.pkl").exists():
        return "biwi"
    if (root / "templates").is_dir() or (root / "template.npy").exists():
        return "folder"
    raise DataError(
        root,
        "not a talking-face dataset: expected the folder layout (templates/, <split>/*.wav + .npy), VOCASET "
        "(data_verts.npy) or BIWI (vertices_npy/, templates.pkl)",
    )


def load_dataset(
    root: Path,
    split: str,
    feat: FeatureConfig,
    layout: str = "auto",
    lip_ids: Path | None = None,
    upper_ids: Path | None = None,
) -> TalkingDataset:
    """Load a split of any supported layout (``auto`` detects it)."""
    if not Path(root).is_dir():
        raise DataError(root, "dataset directory not found")
    layout = detect_layout(root) if layout == "auto" else layout
    # The folder layout may carry further splits (ns-l2t synth's sync_eval); the others have three.
    if split not in SPLITS and not (layout == "folder" and (Path(root) / split).is_dir()):
        raise DataError(root, f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    loader = {"folder": load_folder, "vocaset": load_vocaset, "biwi": load_biwi}.get(layout)
    if loader is None:
        raise DataError(root, f"unknown layout {layout!r}; use folder, vocaset or biwi")
    return loader(Path(root), split, feat, lip_ids, upper_ids)
