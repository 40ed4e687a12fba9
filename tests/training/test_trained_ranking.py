"""A trained bundle ranks through the engine: the library's learned scores find the train pairs."""
from __future__ import annotations

from bgmatch.engine.learned.bundle import ModelBundle
from bgmatch.engine.library import Library


def test_trained_bundle_ranks_its_train_pairs_through_the_library(reference_run, edited_videos, tmp_path):
    _, result, _ = reference_run
    bundle = ModelBundle.load(result.bundle_dir, device="cpu")
    videos = sorted(edited_videos.glob("edit*.mp4"))
    with Library.open(tmp_path / "lib") as library:
        library.set_model(bundle)
        report = library.add(videos)  # the edited videos' soundtracks are the gallery
        assert not report.failed and library.missing_embeddings() == []
        truth = {str(v.absolute()): library.store.path_record(str(v.absolute())).track_id for v in videos}
        ids = library.store.track_ids()
        ranks = []
        for video in videos:
            scores = library.learned_scores(library.query(video), ids)
            assert set(scores) == set(ids) and all(offset >= 0.0 for _, offset in scores.values())
            order = sorted(ids, key=lambda t: -scores[t][0])
            ranks.append(order.index(truth[str(video.absolute())]) + 1)
        # Trained on these pairs (120 tiny steps): by chance the mean rank is 4.5 and recall@3 0.375.
        assert sum(ranks) / len(ranks) <= 3.0 and sum(r <= 3 for r in ranks) / len(ranks) >= 0.75, ranks
