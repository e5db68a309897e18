"""Procedural talking heads for tests and benchmarks: head mesh, synthetic speech, datasets and avatar captures."""
