"""bgmatch engine: media decoding, analysis, models, store, index and retrieval (no Qt)."""
