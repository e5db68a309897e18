"""``deblurgs``: DeblurGS (arXiv 2404.11358), sharp Gaussian splatting from motion-blurred photos.

Files: trajectory.py (per-image exposure trajectories), blur.py (blur synthesis), losses.py
(smoothness), densification.py (Gaussian Densification Annealing), model.py, pose_fit.py
(test-time pose optimisation for evaluation), dataparser.py (Deblur-NeRF layout), simulate.py
(synthetic motion blur), viewer.py, export.py (TUM trajectories), config.py (methods).
"""
