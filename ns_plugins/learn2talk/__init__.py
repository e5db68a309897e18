"""``learn2talk``: Learn2Talk (arXiv 2404.12888), speech-driven 3D talking faces and a Gaussian avatar.

- ``talking_head/``: the audio-to-vertices network. audio.py (soundfile io, resampling, log-mel/MFCC),
  wav2vec2.py (optional local encoder), faceformer.py (the regressor), syncnet3d.py (lip-sync expert,
  LSE), projection.py + teacher.py (2D teacher signal), losses.py, metrics.py, datasets.py (folder,
  VOCASET, BIWI layouts), train.py (``TrainConfig``, the one training config), run.py (saved runs,
  inference), checkpoint.py, evaluate.py, render_mesh.py (the triangle rasterizer) + video.py.
- ``avatar/``: the nerfstudio method. config.py (method specifications), model.py, binding.py
  (Gaussians on triangles), dataparser.py (``learn2talk-data``), viewer.py (controls), motion.py
  (speech -> the avatar's meshes), animate.py (avatar videos).
- ``synth/``: procedural talking heads for tests and benchmarks: head_mesh.py, speech.py,
  talking_data.py (``ns-l2t synth``), avatar_capture.py (``ns-l2t-avatar-synth``).
- cli.py: ``ns-l2t`` (synth, train, eval, animate a mesh or an avatar).

Dependencies point one way: synth -> talking_head <- avatar; cli uses all three.
"""
