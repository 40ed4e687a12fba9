"""The evaluation adapter ranks a prepared split's gallery without reading the ground truth."""
from __future__ import annotations

from bgmatch.training.dataset import PreparedData
from bgmatch.training.prepared import PreparedStore
from bgmatch.training.scorer import EmbeddingScorer


def test_scorer_ranks_the_gallery_without_the_ground_truth(reference_run, prepared_dir, edited_videos, monkeypatch):
    _, result, _ = reference_run
    data = PreparedData(prepared_dir)
    truth = {item.video_id: item.music_id for item in data.items("train")}
    data.close()

    def no_peeking(self, db, key):
        raise AssertionError(f"the scorer read {db}/{key}")

    monkeypatch.setattr(PreparedStore, "get_json", no_peeking)
    scorer = EmbeddingScorer(result.bundle_dir, prepared_dir, "train", hop_s=1.0, device="cpu")
    try:
        ranked = {video_id: scorer.rank(video_id) for video_id in truth}
        first = ranked["edit00"]
        assert sorted(r.track_id for r in first) == sorted(truth.values())
        assert [r.score for r in first] == sorted((r.score for r in first), reverse=True)
        assert all(r.offset_s in (0.0, 1.0) for r in first)  # 8-s tracks, 8.1-s videos
        from_file = scorer.rank(edited_videos / "edit00.mp4")  # the same video, decoded again
        assert [r.track_id for r in from_file] == [r.track_id for r in first]
        top1 = sum(ranked[v][0].track_id == m for v, m in truth.items()) / len(truth)
        assert top1 >= 0.5  # trained on these pairs (at offset 0; the scorer searches every offset)
    finally:
        scorer.close()
