"""A Library ranking with a trained model: embeddings per model version, the fused score, model
choice, and the CLI's --model flag, on real music and footage with a real (tiny) model."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bgmatch.cli.main import main as cli_main
from bgmatch.engine.library import embedding as embedding_module
from bgmatch.engine.library import facade as library_module
from bgmatch.engine.learned.bundle import ModelBundle
from bgmatch.engine.errors import ModelError
from bgmatch.engine.learned.fusion import fuse, standardized
from bgmatch.engine.library import Library, LibraryConfig
from bgmatch.engine.learned import modelchoice
from bgmatch.engine.learned.bundle_format import fusion_weight
from bgmatch.engine.learned.modelchoice import (default_bundle_path, default_model_path, load_model_choice,
                                                resolve_model_choice)
from bgmatch.engine.library.retrieval import FusionConfig, Ranked


@pytest.fixture()
def four_tracks(tmp_path, music_files) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    for src in music_files[:4]:
        shutil.copy(src, folder / src.name)
    return folder


@pytest.fixture(scope="module")
def bundle(tiny_bundle_dir) -> ModelBundle:
    return ModelBundle.load(tiny_bundle_dir, device="cpu")


def test_add_with_a_model_stores_embeddings_per_version(tmp_path, four_tracks, bundle):
    with Library.open(tmp_path / "lib") as lib:
        lib.set_model(bundle)
        lib.add([four_tracks])
        ids = set(lib.store.track_ids())
        assert len(ids) == 4 and lib.missing_embeddings() == []
        assert lib.store.embedded_ids(bundle.music_version) == ids
        assert lib.store.embedded_ids("another-version") == set()
        stored = lib.store.get_embedding(bundle.music_version, sorted(ids)[0])
        assert stored["clip_features"].dtype == np.float16 and stored["clip_features"].shape[1] == 32


def test_suggest_fuses_the_learned_score_of_a_real_forward(tmp_path, four_tracks, bundle, footage_dir, monkeypatch):
    video = footage_dir / "bikes.mp4"
    with Library.open(tmp_path / "lib") as lib:
        lib.add([four_tracks])
        sync_only = lib.suggest(video, top=4)
        assert all("learned" not in s.parts for s in sync_only)
        lib.set_model(bundle)
        assert len(lib.missing_embeddings()) == 4  # added before the model was set
        report = lib.embed()
        assert len(report.embedded) == 4 and not report.failed
        query = lib.query(video)
        assert query.model_version == bundle.version and query.embedding is not None
        fused = lib.suggest(query, top=4)
        assert [s.score for s in fused] == sorted((s.score for s in fused), reverse=True)
        sync_by_id = {s.track_id: s for s in sync_only}
        # Without offsets a track's learned score is its best window's, from the bundle itself.
        through_library = lib.learned_scores(query, [s.track_id for s in fused])
        for s in fused:
            music = embedding_module.stored_embedding(lib.store, bundle, s.track_id, config=lib.config)
            offsets, scores = bundle.score_offsets(query.embedding, music)
            assert through_library[s.track_id] == pytest.approx((scores.max(), offsets[scores.argmax()]), abs=1e-5)
        # Those windows are cached by the library: scoring again reads no embedding from the store.
        with monkeypatch.context() as patch:
            patch.setattr(embedding_module, "stored_embedding", lambda *a, **k: pytest.fail("read the store again"))
            assert lib.learned_scores(query, [s.track_id for s in fused]) == through_library
        # Fused, it is the score of the window at the synchrony offset (snapped to the clip hop), standardised.
        learned = {}
        for s in fused:
            music = embedding_module.stored_embedding(lib.store, bundle, s.track_id, config=lib.config)
            start = music.starts_s[np.argmin(np.abs(music.starts_s - sync_by_id[s.track_id].offset_s))]
            learned[s.track_id] = bundle.similarity(query.embedding, music, float(start))
        z = standardized(learned)
        for s in fused:
            assert s.parts["learned"] == pytest.approx(z[s.track_id], abs=1e-4)
            assert s.score == pytest.approx(sync_by_id[s.track_id].score + 1.0 * z[s.track_id], abs=1e-4)
            assert s.offset_s == sync_by_id[s.track_id].offset_s  # the beat-placed offset is kept
        # A bare analysis has no embedding: synchrony alone, as before.
        assert [s.track_id for s in lib.suggest(query.analysis, top=4)] == [s.track_id for s in sync_only]


def test_weight_zero_keeps_the_sync_order_and_switching_back_needs_no_embedding(
        tmp_path, four_tracks, bundle, footage_dir, monkeypatch):
    video = footage_dir / "bikes.mp4"
    config = LibraryConfig(fusion=FusionConfig(weight=0.0))
    with Library.open(tmp_path / "lib", config=config) as lib:
        lib.add([four_tracks])
        sync_ids = [s.track_id for s in lib.suggest(video, top=4)]
        lib.set_model(bundle)
        lib.embed()
        assert [s.track_id for s in lib.suggest(video, top=4)] == sync_ids
        lib.set_model(None)
        lib.set_model(bundle)  # undo of an undo: the stored embeddings serve again

        def no_embedding(*args, **kwargs):
            raise AssertionError("embedded again")

        monkeypatch.setattr(embedding_module, "embed_track", no_embedding)
        out = lib.suggest(video, top=4)
        assert all("learned" in s.parts for s in out)


def test_embed_resumes_after_cancel_and_reports_a_gone_file(tmp_path, four_tracks, bundle, footage_dir):
    with Library.open(tmp_path / "lib") as lib:
        lib.add([four_tracks])
        lib.set_model(bundle)
        calls = []
        first = lib.embed(cancel=lambda: len(calls) >= 1, progress=lambda d, t, p: calls.append(d))
        assert first.cancelled and len(first.embedded) == 1 and len(lib.missing_embeddings()) == 3
        gone = sorted(four_tracks.iterdir())[-1]
        gone_id = lib.store.path_record(str(gone.absolute())).track_id
        gone.unlink()
        second = lib.embed()
        if gone_id in first.embedded:
            assert len(second.embedded) == 3 and not second.failed
        else:
            assert len(second.embedded) == 2
            assert second.failed == [(gone_id, f"{gone.absolute()}: file is gone (moved or deleted); add it again")]
            # The track without an embedding is still ranked, on the worst learned score.
            out = lib.suggest(footage_dir / "bikes.mp4", top=4)
            assert {s.track_id for s in out} == set(lib.store.track_ids())
            assert min(s.parts["learned"] for s in out) == next(s for s in out if s.track_id == gone_id).parts["learned"]


def test_fuse_reorders_only_the_tracks_with_a_learned_score():
    ranked = [Ranked("a", 3.0, 0.0, {}), Ranked("b", 2.0, 0.0, {}), Ranked("c", 1.0, 0.0, {})]
    out = fuse(ranked, {"a": 0.0, "b": 1.0}, weight=2.0)  # z: a −1, b +1
    assert [r.track_id for r in out] == ["b", "a", "c"]
    assert out[0].score == pytest.approx(4.0) and out[0].parts == {"learned": pytest.approx(1.0)}
    assert standardized({"x": 0.5, "y": 0.5}) == {"x": 0.0, "y": 0.0}


def test_model_choice(tmp_path, tiny_bundle_dir, monkeypatch):
    monkeypatch.delenv("BGMATCH_MODEL", raising=False)
    assert load_model_choice("none") is None
    assert load_model_choice(str(tiny_bundle_dir), device="cpu").version
    monkeypatch.setenv("BGMATCH_MODEL", "none")
    assert resolve_model_choice(None) is None
    monkeypatch.delenv("BGMATCH_MODEL")
    # "default" is the shipped model only while its learned score counts; today's weighs 0
    assert fusion_weight(default_bundle_path()) == 0 and resolve_model_choice(None) is None
    assert resolve_model_choice(str(default_bundle_path())) == default_bundle_path()  # named: loads
    monkeypatch.setattr(modelchoice, "default_bundle_path", lambda: tiny_bundle_dir)  # weight 1
    assert resolve_model_choice("default") == tiny_bundle_dir == default_model_path()
    with pytest.raises(ModelError, match="not a model bundle"):
        load_model_choice(str(tmp_path))


def test_cli_suggest_with_and_without_a_model(tmp_path, four_tracks, tiny_bundle_dir, footage_dir, capsys):
    lib = str(tmp_path / "lib")
    video = str(footage_dir / "bikes.mp4")
    assert cli_main(["index", "--library", lib, "--model", "none", "-q", str(four_tracks)]) == 0
    capsys.readouterr()
    assert cli_main(["suggest", "--library", lib, "--model", "none", "--json", video]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert all("learned" not in s["parts"] for s in plain)
    assert cli_main(["suggest", "--library", lib, "--model", str(tiny_bundle_dir), "--device", "cpu", "--json",
                     video]) == 0
    captured = capsys.readouterr()
    fused = json.loads(captured.out)
    assert all("learned" in s["parts"] for s in fused) and len(fused) == 4
    assert cli_main(["suggest", "--library", lib, "--model", str(tmp_path / "nope"), video]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'nope'}: not a model bundle (no bundle.json)"]


def test_read_only_store_from_before_embeddings(tmp_path, four_tracks):
    """A store written without the embeddings table still opens read-only and has none."""
    from bgmatch.engine.library.store import FeatureStore

    path = tmp_path / "store.lmdb"
    import lmdb

    env = lmdb.open(str(path), max_dbs=8)
    env.open_db(b"tracks"), env.open_db(b"paths"), env.open_db(b"meta")
    env.close()
    store = FeatureStore(path, readonly=True)
    assert store.get_embedding("v", "t") is None and store.embedded_ids("v") == set()
    store.close()


def test_engine_library_import_stays_without_torch():
    import subprocess
    import sys

    code = ("import sys, bgmatch.engine.library.facade, bgmatch.engine.learned.modelchoice as m; "
            "assert m.load_model_choice('none') is None; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert dataclasses.is_dataclass(library_module.VideoQuery)


def test_bundles_from_the_same_music_encoder_share_stored_embeddings(tmp_path, four_tracks, tiny_bundle_dir,
                                                                     tiny_bundle_factory):
    other = tiny_bundle_factory(tmp_path / "other", seed=1)
    sibling = tmp_path / "sibling"
    shutil.copytree(tiny_bundle_dir, sibling)
    shutil.copy(other / "matching.pt", sibling / "matching.pt")  # same encoders, another matching model
    first, second = ModelBundle.load(tiny_bundle_dir, device="cpu"), ModelBundle.load(sibling, device="cpu")
    assert first.music_version == second.music_version and first.version != second.version
    with Library.open(tmp_path / "lib") as lib:
        lib.set_model(first)
        lib.add([four_tracks])
        lib.set_model(second)
        assert lib.missing_embeddings() == []
        assert lib.missing_embeddings(ModelBundle.load(other, device="cpu")) != []


def test_a_damaged_shipped_manifest_is_loaded_and_named(tmp_path, monkeypatch):
    # default_model_path cannot read the weight: it hands the folder on, and loading names the file
    (tmp_path / "bundle.json").write_text("{not json")
    monkeypatch.setattr(modelchoice, "default_bundle_path", lambda: tmp_path)
    assert default_model_path() == tmp_path
    with pytest.raises(ModelError, match="bundle.json: unreadable bundle manifest"):
        load_model_choice("default")
