"""Preparing real media: the folder and the paper formats, resumability, bad files, no pickles."""
from __future__ import annotations

import io
import json
import shutil
import zipfile

import numpy as np
import pytest

from bgmatch.engine.errors import ConfigError
from bgmatch.training.config import parse_config
from bgmatch.training.dataset import PreparedData, TargetSet
from bgmatch.training.prepare import prepare
from bgmatch.engine.analysis.periodicity import PERIODICITY_DIM
from bgmatch.training.prepared import PreparedError, PreparedStore

from .conftest import tiny_config


def test_folder_format_records(prepared_dir):
    data = PreparedData(prepared_dir)
    try:
        assert [i.video_id for i in data.items("train")] == [f"edit0{i}" for i in range(6)]
        assert data.query_ids("valid") == ["edit06", "edit07"]
        assert data.gallery("valid") == ["edit06", "edit07"]
        frames, flow = data.video("edit00")
        assert frames.dtype == np.uint8 and frames.shape[1:] == (4, 64, 64) and flow.shape == (len(frames),)
        assert frames.std() > 5  # real pictures, not blank
        music = data.music("edit00")
        assert music.inputs.log_mel.shape[1] == 80 and 7.5 < music.inputs.duration_s < 8.5
        assert music.descriptors.shape == (len(frames), 6) or music.descriptors.shape[1] == 6
        assert 40 < music.inputs.analysis.tempo_bpm < 250
        assert data.manifest["tag_vocabulary"] == sorted({"calm", "indoor", "close-up", "energetic", "outdoor",
                                                          "cartoon", "nature", "street", "busy"})
        assert data.text("tags:edit00").shape == (384,)
        np.testing.assert_allclose(np.linalg.norm(data.text("pseudo:edit00")), 1.0, atol=1e-5)
        tags = TargetSet(data, "tags")
        human = tags.clip_targets(data.items("train")[0], 2)[:, tags.names.index("calm")]
        assert tags.kind == "tags" and human.tolist() == [1.0, 1.0]
        pseudo = TargetSet(data, "pseudo")
        targets = pseudo.clip_targets(data.items("train")[0], 2)
        assert targets.shape == (2, 27) and targets.sum(axis=1).tolist() == [6, 6]  # one tag per group
    finally:
        data.close()


def test_prepared_lmdb_never_holds_pickles(prepared_dir):
    with PreparedStore(prepared_dir) as store:
        count = 0
        for db, key, value in store.raw_items():
            count += 1
            if db == "items":
                assert isinstance(json.loads(value), dict)
                continue
            with zipfile.ZipFile(io.BytesIO(value)) as archive:
                for name in archive.namelist():
                    assert name.endswith(".npy"), (db, key, name)
                    with archive.open(name) as member:
                        major, _ = np.lib.format.read_magic(member)
                        read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                        _, _, dtype = read_header(member)
                        assert not dtype.hasobject, (db, key, name)
            store.get_arrays(db, key)  # loads with allow_pickle=False
        assert count >= 8 * 3


def test_prepare_resumes_and_reports_each_bad_file(edited_videos, tmp_path, capsys):
    root = tmp_path / "data"
    (root / "videos").mkdir(parents=True)
    for name in ("edit00.mp4", "edit01.mp4", "edit02.mp4"):
        shutil.copy(edited_videos / name, root / "videos" / name)
    (root / "videos" / "broken.mp4").write_bytes(b"this is not a video" * 100)
    data = tiny_config(tmp_path / "run", root=root, prepared_dir=tmp_path / "prepared",
                       data={"tags_csv": "", "valid_fraction": 0.0, "test_fraction": 0.0})
    config = parse_config(data)
    first = prepare(config, show_bar=False)
    assert first.written == 9 and first.skipped == 0  # 3 videos, 3 music files, 3 pairs' tags
    assert set(first.failed) == {"broken"}
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(lines) == 2 and all("broken.mp4" in line for line in lines)  # its video and its music
    second = prepare(config, show_bar=False)
    assert second.written == 0 and second.skipped == 9 and set(second.failed) == {"broken"}
    manifest = json.loads((tmp_path / "prepared" / "manifest.json").read_text())
    assert manifest["splits"]["train"] == ["edit00", "edit01", "edit02"]
    assert "broken" in manifest["failed"] and not manifest["has_tags"]
    changed = parse_config({**data, "features": {"frame_px": 32}})
    with pytest.raises(ConfigError, match=r"\[features\] differ"):
        prepare(changed, show_bar=False)


def test_a_preparation_without_motion_records_gets_them_on_resume(edited_videos, tmp_path):
    """Folders prepared before videos kept their motion analysis: reading says what to do, and
    preparing again re-decodes only the videos (the music is kept)."""
    root = tmp_path / "data"
    (root / "videos").mkdir(parents=True)
    for name in ("edit00.mp4", "edit01.mp4"):
        shutil.copy(edited_videos / name, root / "videos" / name)
    config = parse_config(tiny_config(tmp_path / "run", root=root, prepared_dir=tmp_path / "prepared",
                                      data={"tags_csv": "", "valid_fraction": 0.0, "test_fraction": 0.0}))
    prepare(config, show_bar=False)
    data = PreparedData(tmp_path / "prepared")
    try:
        periodicity = data.video_periodicity("edit00")
        assert periodicity.shape == (len(data.video("edit00")[0]), PERIODICITY_DIM) and np.isfinite(periodicity).all()
        assert data.music_periodicity("edit00", np.array([0.0, 4.0])).shape == (2, PERIODICITY_DIM)
    finally:
        data.close()
    with PreparedStore(tmp_path / "prepared", readonly=False) as store:  # as an older bgmatch left it
        motion = store.env.open_db(b"motion")
        with store.env.begin(write=True) as txn:
            txn.drop(motion, delete=True)
    data = PreparedData(tmp_path / "prepared")
    try:
        with pytest.raises(PreparedError, match="no motion record"):
            data.video_periodicity("edit00")
    finally:
        data.close()
    again = prepare(config, show_bar=False)
    assert again.written == 2 and again.skipped == 4  # two videos again, two music files and their tags kept
    data = PreparedData(tmp_path / "prepared")
    try:
        np.testing.assert_allclose(data.video_periodicity("edit00"), periodicity)
    finally:
        data.close()


def test_paper_format_with_offsets_gallery_and_a_path_escape(edited_videos, music_files, tmp_path):
    root = tmp_path / "paper"
    (root / "videos").mkdir(parents=True)
    (root / "music").mkdir()
    for i in range(3):
        shutil.copy(edited_videos / f"edit0{i}.mp4", root / "videos" / f"v{i}.mp4")
    long_tracks = [m for m in music_files if m.stat().st_size > 400_000][:4]
    for i, track in enumerate(long_tracks):
        (root / "music" / f"m{i}.ogg").symlink_to(track)
    tags = {"v0": {"music_id": "m0", "tags": ["epic"], "offset_s": 4.0},
            "v1": {"music_id": "m1", "tags": ["calm", "piano"]},
            "v2": {"music_id": "m2", "tags": ["epic", "drums"]},
            "../v0": {"music_id": "m0", "tags": []}, "../../../etc/passwd": {"music_id": "m0", "tags": []}}
    (root / "tags.json").write_text(json.dumps(tags))
    (root / "train.txt").write_text("v0\nv1\n../v0\n../../../etc/passwd\n")
    (root / "valid.txt").write_text("v2\n")
    (root / "test.txt").write_text("")
    (root / "gallery.txt").write_text("m2\nm3\n")
    data = tiny_config(tmp_path / "run", root=root, prepared_dir=tmp_path / "prepared",
                       data={"format": "paper", "gallery_ids": "gallery.txt", "max_music_s": 30.0})
    report = prepare(parse_config(data), show_bar=False)
    assert set(report.failed) == {"../v0", "../../../etc/passwd"}
    assert "is outside" in report.failed["../v0"] and "is outside" in report.failed["../../../etc/passwd"]
    assert report.n_items == {"train": 2, "valid": 1, "test": 0}
    prepared = PreparedData(tmp_path / "prepared")
    try:
        first = prepared.items("train")[0]
        assert (first.music_id, first.offset_s, first.segment) == ("m0", 4.0, "m0@4")
        assert prepared.gallery("valid") == ["m2", "m3"]
        assert prepared.manifest["tag_vocabulary"] == ["calm", "epic", "piano"]  # from the training split only
        assert 25.0 < prepared.music("m3").inputs.duration_s <= 30.05
    finally:
        prepared.close()


def test_beatcut_format(edited_videos, music_files, tmp_path):
    """A BeatCut benchmark folder: queries at their truth's offsets in the split's gallery tracks."""
    root = tmp_path / "beatcut"
    tracks = [m for m in music_files if m.stat().st_size > 400_000][:3]
    splits = {"train": tracks[:2], "valid": tracks[2:], "test": []}
    build = {"version": 1, "splits": {s: {"tracks": [{"key": f"pkg/{t.name}", "path": str(t), "content_hash": "x",
                                                       "duration_s": 60.0} for t in ts]} for s, ts in splits.items()}}
    root.mkdir()
    (root / "build.json").write_text(json.dumps(build))
    (root / "truth").mkdir()
    for split, ts in splits.items():
        (root / "queries" / split).mkdir(parents=True)
        queries = {}
        for i, track in enumerate(ts):
            shutil.copy(edited_videos / f"edit0{i}.mp4", root / "queries" / split / f"q000{i + 1}.mp4")
            queries[f"q000{i + 1}"] = {"track": f"pkg/{track.name}", "content_hash": "x", "offset_s": 4.0 * (i + 1),
                                       "duration_s": 8.0, "cut_times_s": [], "sources": [], "seed": 0}
        (root / "truth" / f"{split}.json").write_text(json.dumps({"split": split, "queries": queries}))
    data = tiny_config(tmp_path / "run", root=root, prepared_dir=tmp_path / "prepared",
                       data={"format": "beatcut", "splits": ["train"], "max_music_s": 20.0, "tags_csv": ""})
    report = prepare(parse_config(data), show_bar=False)
    assert not report.failed and report.n_items == {"train": 2, "valid": 0, "test": 0}
    prepared = PreparedData(tmp_path / "prepared")
    try:
        items = prepared.items("train")
        assert [(i.video_id, i.offset_s) for i in items] == [("train/q0001", 4.0), ("train/q0002", 8.0)]
        assert items[0].segment == f"pkg/{tracks[0].name}@4"
        assert prepared.gallery("train") == sorted(f"pkg/{t.name}" for t in tracks[:2])
        assert prepared.gallery("valid") == []  # not prepared: splits = ["train"]
    finally:
        prepared.close()
