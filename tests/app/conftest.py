"""App test fixtures: offscreen Qt, throwaway settings, a small real library, real videos."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import av  # noqa: E402
import pytest  # noqa: E402
import shiboken6  # noqa: E402
from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEMO_VIDEO = REPO / "assets" / "demo" / "video.mp4"
#: Tracks in the shared test library (few: indexing is the slow part of these tests).
LIBRARY_TRACKS = 6


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "realtime: an opt-in playback stress case (set BGMATCH_SYNC_2X=1)")
    config.addinivalue_line("markers", "shipped_model: the window may load the model shipped in assets/model")


@pytest.fixture(autouse=True)
def temp_settings(tmp_path: Path, qapp) -> Path:
    """Point QSettings at a temporary folder and a per-test organisation: never the user's settings."""
    folder = tmp_path / "settings"
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    QCoreApplication.setOrganizationName(f"bgmatch-test-{uuid.uuid4().hex[:8]}")
    QCoreApplication.setApplicationName("bgmatch")
    return folder


@pytest.fixture(autouse=True)
def no_shipped_model(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows start on the analysis score, as an installation without shipped weights does, so
    each test chooses its model; tests marked ``shipped_model`` keep the real default."""
    if request.node.get_closest_marker("shipped_model") is None:
        from bgmatch.app import model_flow
        from bgmatch.engine.learned import modelchoice

        monkeypatch.setattr(modelchoice, "default_model_path", lambda: None)  # what "default" resolves to
        monkeypatch.setattr(model_flow, "default_model_path", lambda: None)  # what the Model menu lists


@pytest.fixture(scope="session")
def gallery(music_files: list[Path]) -> list[Path]:
    """Short real tracks for the library: the bundled demo excerpts when present, else fetched music."""
    demo = sorted(p for p in (REPO / "assets" / "demo" / "music").glob("*.opus"))
    if len(demo) >= LIBRARY_TRACKS:
        return demo
    return [p for p in music_files if 20 < _duration(p) < 200]


def _duration(path: Path) -> float:
    from bgmatch.engine.analysis.media import probe

    return probe(path).duration_s


@pytest.fixture(scope="session")
def library_template(tmp_path_factory: pytest.TempPathFactory, gallery: list[Path]) -> Path:
    """A library of a few real tracks, indexed once per session (copied per test)."""
    from bgmatch.engine.library import Library

    folder = tmp_path_factory.mktemp("library-template") / "lib"
    with Library.open(folder) as lib:
        report = lib.add(gallery[:LIBRARY_TRACKS])
        assert len(report.added) == LIBRARY_TRACKS, report.failed
    return folder


@pytest.fixture()
def library_dir(tmp_path: Path, library_template: Path) -> Path:
    """A private copy of the template library."""
    dest = tmp_path / "library"
    shutil.copytree(library_template, dest)
    return dest


@pytest.fixture(scope="session")
def video(footage_dir: Path) -> Path:
    """A real video with cuts: the bundled demo video when present, else real footage."""
    return DEMO_VIDEO if DEMO_VIDEO.exists() else footage_dir / "bikes.mp4"


@pytest.fixture(scope="session")
def short_video(footage_dir: Path) -> Path:
    """A short real clip (10 s)."""
    return footage_dir / "bikes.mp4"


@pytest.fixture(scope="session")
def minute_video(tmp_path_factory: pytest.TempPathFactory, footage_dir: Path) -> Path:
    """A 60-s real video: a 10-s H.264 clip repeated six times (packets copied, timestamps shifted)."""
    out = tmp_path_factory.mktemp("video") / "minute.mp4"
    with av.open(str(footage_dir / "bikes.mp4")) as inp, av.open(str(out), "w", format="mp4") as dst:
        src = inp.streams.video[0]
        stream = dst.add_stream_from_template(src)
        packets = [p for p in inp.demux(src) if p.dts is not None]
        clip = int(round(10.0 / src.time_base))
        for repeat in range(6):
            for p in packets:
                q = av.Packet(bytes(p))
                q.pts, q.dts = p.pts + repeat * clip, p.dts + repeat * clip
                q.duration, q.is_keyframe, q.time_base = p.duration, p.is_keyframe, src.time_base
                q.stream = stream
                dst.mux(q)
    return out


@pytest.fixture()
def settings(temp_settings: Path, library_dir: Path):
    """App settings in the temporary location, pointing at the test library."""
    from bgmatch.app.settings import AppSettings

    s = AppSettings()
    s.library_path = library_dir
    return s


@pytest.fixture()
def window(qtbot, settings):
    """The main window on the test library."""
    from bgmatch.app.main_window import MainWindow

    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.library_panel.model.rowCount() == LIBRARY_TRACKS, timeout=10_000)
    yield w
    if shiboken6.isValid(w):  # pytest-qt's teardown may have closed and deleted it already
        w.close()


@pytest.fixture()
def analysed(qtbot, window, video):
    """The main window after the test video was analysed and ranked."""
    assert window.suggest_flow.open_video(video)
    qtbot.waitUntil(lambda: window.session.video is not None and window.session.chosen is not None,
                    timeout=60_000)
    qtbot.waitUntil(lambda: window.player.loaded, timeout=10_000)
    return window


#: Footage of the "past edits" a user retrains on (real clips, 5–80 s).
EDIT_FOOTAGE = ("box.mp4", "cup.mp4", "bikes.mp4", "Megamind.avi", "tree.avi", "vtest.avi")


@pytest.fixture(scope="session")
def past_edits(tmp_path_factory: pytest.TempPathFactory, footage_dir: Path, music_files: list[Path]) -> Path:
    """A folder of six real edits: real footage, each exported with a different real track (the Retrain input)."""
    from bgmatch.engine.output.export import ExportConfig, export

    tracks = [p for p in music_files if _duration(p) > 60]
    folder = tmp_path_factory.mktemp("past-edits") / "edits"
    folder.mkdir()
    for i, name in enumerate(EDIT_FOOTAGE):
        export(footage_dir / name, tracks[(i * 5) % len(tracks)], offset_s=5.0 + 2 * i,
               out_path=folder / f"edit{i:02d}.mp4", config=ExportConfig(sr_hz=22050, bitrate=64_000))
    return folder
