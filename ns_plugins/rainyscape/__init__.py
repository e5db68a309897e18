"""``rainyscape``: RainyScape (arXiv 2404.11401), a clean Gaussian scene plus a per-view rain layer
from rainy photos.

Files: rain_predictor.py (latents, scene state, state net, rain generator, Langevin E-step),
rain_angle.py (Sobel orientation histogram -> rain angle), losses.py (rain likelihood, TV,
direction-sensitive gradient loss), datamanager.py (input checks, image size for the generator),
model.py, evaluation.py (scores against synthetic ground truth), simulate.py (synthetic rain
streaks), viewer.py, derain_cli.py (derained training images), config.py (methods).
"""
