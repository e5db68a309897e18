import json

from tests.cli import ns, run


def test_synth_train_eval_animate(tmp_path):
    l2t = ns("ns-l2t")
    run(
        l2t,
        "synth",
        "--out",
        tmp_path / "data",
        "--seed",
        3,
        "--speakers",
        2,
        "--train-per-speaker",
        3,
        "--test-per-speaker",
        1,
        "--speakers-2d",
        1,
        "--per-speaker-2d",
        2,
        "--min-seconds",
        2.0,
        "--max-seconds",
        2.5,
        "--resolution",
        16,
        cwd=tmp_path,
    )
    assert len(list((tmp_path / "data" / "train").glob("*.npy"))) == 6
    run(
        l2t,
        "train",
        "--data",
        tmp_path / "data",
        "--output",
        tmp_path / "run",
        "--losses",
        "vertex,sync,teacher",
        "--preset",
        "tiny",
        cwd=tmp_path,
    )
    run(
        l2t,
        "eval",
        "--run",
        tmp_path / "run",
        "--data",
        tmp_path / "data",
        "--split",
        "test",
        "--json",
        tmp_path / "eval.json",
        cwd=tmp_path,
    )
    scores = json.loads((tmp_path / "eval.json").read_text())
    assert {"lve", "fdd", "lse_d", "lse_c"} <= set(scores) and scores["sequences"] == 2
    assert 0 < scores["lve"] < 0.05 and scores["lse_d"] > 0
    wav = next((tmp_path / "data" / "test").glob("*.wav"))
    run(
        l2t,
        "animate",
        "--run",
        tmp_path / "run",
        "--audio",
        wav,
        "--output",
        tmp_path / "mesh.mp4",
        "--size",
        64,
        cwd=tmp_path,
    )
    from ns_plugins.learn2talk.talking_head.video import probe_streams

    streams = probe_streams(tmp_path / "mesh.mp4")
    assert "Video: h264" in streams and "Audio: aac" in streams and "64x64" in streams
    bad = run(
        l2t,
        "animate",
        "--run",
        tmp_path / "run",
        "--audio",
        tmp_path / "eval.json",
        "--output",
        tmp_path / "x.mp4",
        cwd=tmp_path,
        check=False,
    )
    assert bad.returncode == 2 and "eval.json: unreadable audio" in bad.stderr and "Traceback" not in bad.stderr
