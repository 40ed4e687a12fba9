"""Rebuilding bgmatch's models: datasets, BeatCut, pretraining, matching, evaluation."""
