"""The audio-to-vertices network: features, FaceFormer regressor, SyncNet3D, 2D teacher, datasets, training, runs."""
