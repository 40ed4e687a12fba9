"""The evaluation adapter ranks a gallery at every offset without reading the ground truth."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from bgmatch.engine.errors import ConfigError
from bgmatch.engine.library import TrackInfo
from bgmatch.training.dataset import PreparedData
from bgmatch.training.prepared import PreparedStore
from bgmatch.training.scorer import BUNDLE_ENV, GalleryScorer, learned_method


def test_scorer_ranks_a_prepared_gallery_without_the_ground_truth(reference_run, prepared_dir, edited_videos,
                                                                  monkeypatch):
    _, result, _ = reference_run
    data = PreparedData(prepared_dir)
    truth = {item.video_id: item.music_id for item in data.items("train")}
    data.close()

    def no_peeking(self, db, key):
        raise AssertionError(f"the scorer read {db}/{key}")

    monkeypatch.setattr(PreparedStore, "get_json", no_peeking)
    scorer = GalleryScorer.from_prepared(result.bundle_dir, prepared_dir, "train", hop_s=1.0, device="cpu")
    try:
        ranked = {video_id: scorer.rank_scored(video_id) for video_id in truth}
        first = ranked["edit00"]
        assert sorted(r.track_id for r in first) == sorted(truth.values())
        assert [r.score for r in first] == sorted((r.score for r in first), reverse=True)
        assert all(r.offset_s in (0.0, 1.0) for r in first)  # 8-s tracks, 8.1-s videos
        from_file = scorer.rank(edited_videos / "edit00.mp4")  # the same video, decoded again
        assert from_file == [(r.track_id, r.offset_s) for r in first]
        top1 = sum(ranked[v][0].track_id == m for v, m in truth.items()) / len(truth)
        assert top1 >= 0.5  # trained on these pairs (at offset 0; the scorer searches every offset)
        with pytest.raises(ConfigError, match="neither a prepared video id nor a video file"):
            scorer.rank("no-such-video")
    finally:
        scorer.close()


def test_learned_method_for_bgmatch_eval(reference_run, edited_videos, monkeypatch):
    _, result, _ = reference_run
    library = SimpleNamespace(tracks=lambda: [
        TrackInfo(f"t{i}", str(edited_videos / f"edit0{i}.mp4"), f"edit0{i}", 8.0, 120.0) for i in range(3)])
    monkeypatch.delenv(BUNDLE_ENV, raising=False)
    with pytest.raises(ConfigError, match=BUNDLE_ENV):
        learned_method(SimpleNamespace(library=library))
    monkeypatch.setenv(BUNDLE_ENV, str(result.bundle_dir))
    method = learned_method(SimpleNamespace(library=library), hop_s=1.0)
    ranking = method.rank(edited_videos / "edit01.mp4")
    assert method.name == "learned" and sorted(t for t, _ in ranking) == ["t0", "t1", "t2"]
    assert all(isinstance(offset, float) for _, offset in ranking)
