"""Contrastive Gaussian Clustering (arXiv 2404.12784) as the nerfstudio method ``contrastive-gc``.

Per-Gaussian segmentation features, rendered with RGB in one pass, are trained with a contrastive
clustering loss against per-view segment maps whose ids need not agree between views, plus a
spatial regularisation in 3D. Clustering the features gives one label per Gaussian, 2D masks for
any camera and one PLY per object (``ns-cgc-segment``).
"""
