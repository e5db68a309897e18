"""``learn2talk``: Learn2Talk (arXiv 2404.12888), speech-driven 3D talking faces.

Audio to face: head_mesh.py (procedural head with deformation bases), audio.py (wav io,
resampling, log-mel/MFCC), wav2vec2.py (optional local encoder), speech_synth.py + synth_data.py
(synthetic speech with matching mouth motion, ``ns-l2t synth``), datasets.py (folder, VOCASET,
BIWI layouts), faceformer.py (the regressor), syncnet3d.py (lip-sync expert, LSE), projection.py +
teacher.py (2D teacher signal), losses.py, metrics.py, train.py, run_dir.py (saved runs,
inference), evaluate.py, render_mesh.py + video.py (mesh videos with audio), cli.py (``ns-l2t``).
The Gaussian avatar: avatar_*.py, binding.py.
"""
