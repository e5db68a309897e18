"""The harder synthetic regime: speaker timing, co-articulation, unseen speakers, a disjoint evaluator split."""

import json

import numpy as np
import pytest

from ns_plugins.data.errors import DataError
from ns_plugins.learn2talk.synth.head_mesh import BASIS_NAMES
from ns_plugins.learn2talk.synth.speech import UNITS, coarticulate, make_speaker, synthesize
from ns_plugins.learn2talk.synth.talking_data import write_synthetic_dataset
from ns_plugins.learn2talk.talking_head.audio import FeatureConfig
from ns_plugins.learn2talk.talking_head.datasets import load_dataset

ROUND = BASIS_NAMES.index("lip_round")


def test_speaker_timing_only_in_the_hard_regime():
    plain = [make_speaker(i) for i in range(6)]
    timed = [make_speaker(i, timing=True) for i in range(6)]
    assert all(s.rate == 1.0 and s.lead == 0.0 and s.coarticulation == 0.0 for s in plain)
    # Same voice, own timing.
    assert [s.pitch for s in plain] == [s.pitch for s in timed]
    assert len({round(s.rate, 3) for s in timed}) == 6 and len({round(s.tau, 4) for s in timed}) == 6
    assert all(0.8 <= s.rate <= 1.3 and 0.0 <= s.lead <= 0.08 for s in timed)


def test_a_consonant_anticipates_the_next_vowels_rounding():
    units = [("_", 0.2), ("b", 0.1), ("u", 0.2), ("_", 0.2), ("b", 0.1)]
    targets = np.zeros((len(units), len(BASIS_NAMES)))
    for i, (u, _) in enumerate(units):
        for name, value in UNITS[u][2].items():
            targets[i, BASIS_NAMES.index(name)] = value
    out = coarticulate(units, targets, 0.5, [ROUND])
    assert out[1, ROUND] == pytest.approx(0.5)  # b before u: half of u's rounding
    assert out[2, ROUND] == targets[2, ROUND]  # the vowel itself (no vowel after it before the pause)
    assert out[4, ROUND] == 0.0  # no vowel follows: nothing to anticipate
    # In the motion: the lips round during the closure of "b" before "u", not before "a".
    speaker = make_speaker(0, timing=True)
    rounding = []
    for vowel in "ua":
        _, coeffs = synthesize(
            [("_", 0.2), ("b", 0.12), (vowel, 0.2), ("_", 0.2)], speaker, 25, 16000, np.random.default_rng(0)
        )
        rounding.append(float(coeffs[6:8, ROUND].mean()))
    assert rounding[0] > rounding[1] + 0.2


def test_hard_dataset_layout(tmp_path):
    out = write_synthetic_dataset(
        tmp_path / "d",
        seed=1,
        train_per_speaker=1,
        test_per_speaker=1,
        num_2d_speakers=1,
        per_2d_speaker=1,
        resolution=12,
        regime="hard",
        eval_speakers=2,
        per_eval_speaker=1,
    )
    meta = json.loads((out / "meta.json").read_text())
    assert meta["regime"] == "hard" and meta["speakers"] == ["spk0", "spk1", "spk2", "spk3"]
    feat = FeatureConfig()
    train, test, held = (load_dataset(out, split, feat) for split in ("train", "test", "sync_eval"))
    assert {s.speaker for s in test.sequences} == {"spk0", "spk1", "spk2", "spk3", "new0", "new1"}
    assert {s.speaker for s in held.sequences} == {"eval0", "eval1"}
    # The evaluator's data shares no speaker with the rest, and the style stays that of the training speakers.
    assert not {s.speaker for s in held.sequences} & {s.speaker for s in train.sequences + test.sequences}
    assert test.speakers == train.speakers == meta["speakers"]
    with pytest.raises(DataError, match="unknown split 'nope'"):
        load_dataset(out, "nope", feat)
    with pytest.raises(ValueError, match="regime"):
        write_synthetic_dataset(tmp_path / "e", regime="harder")  # type: ignore[arg-type]
