"""Rebuilding bgmatch's models: datasets, BeatCut, pretraining, matching, evaluation.

Programs start training through :mod:`bgmatch.training.api` (the app does, and only there:
``tests/test_architecture.py`` holds it to that one module).
"""
