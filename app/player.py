"""The synced preview: a muted video player and a music player kept in step.

The video plays without an audio output (muted); the track plays from ``offset + video time``,
the offset read from its owner each time it is needed (in the app: the session's, the one place it
lives); call :meth:`PreviewPlayer.realign` when it has changed. A track set with a fixed offset
(the fitted render, played from 0 under the video) ignores the owner's.
While playing, both positions are sampled ten times a second and the engine's
:class:`~bgmatch.engine.preview.playsync.DriftTracker` says when to re-align the track.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Q_ARG, QEventLoop, QMetaObject, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtMultimediaWidgets import QVideoWidget

from bgmatch.engine.session import DriftConfig, DriftTracker

SAMPLE_INTERVAL_MS = 100


class PreviewPlayer(QObject):
    """Plays a video muted with a music track starting at an offset, in sync."""

    position_changed = Signal(float)  # video seconds
    duration_changed = Signal(float)  # video seconds
    playing_changed = Signal(bool)
    error = Signal(str)

    def __init__(self, video_widget: QVideoWidget, parent: QObject | None = None, *,
                 offset_s: Callable[[], float], drift: DriftConfig = DriftConfig()) -> None:
        super().__init__(parent)
        self.video = QMediaPlayer(self)
        self.video.setVideoOutput(video_widget)  # no audio output: the video plays muted
        self.track = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.track.setAudioOutput(self.audio)
        self.tracker = DriftTracker(drift)
        self._offset = offset_s
        self._track_path: Path | None = None
        self._fixed_offset_s: float | None = None  # overrides the owner's offset (a fitted render: 0)
        self._track_played = False  # since its source was set: only then does a resume lag
        self._stopping = False  # while stop() releases both sources
        self._rate = 1.0
        self._pending_seek_s: float | None = None  # a seek asked for before the video was loaded
        self._timer = QTimer(self)
        self._timer.setInterval(SAMPLE_INTERVAL_MS)
        self._timer.timeout.connect(self._keep_in_sync)
        self.video.positionChanged.connect(lambda ms: self.position_changed.emit(ms / 1000.0))
        self.video.durationChanged.connect(lambda ms: self.duration_changed.emit(ms / 1000.0))
        self.video.playbackStateChanged.connect(self._video_state_changed)
        self.video.mediaStatusChanged.connect(self._video_status_changed)
        self.track.mediaStatusChanged.connect(self._track_status_changed)
        self.video.errorOccurred.connect(self._player_error)
        self.track.errorOccurred.connect(self._player_error)

    # -- sources -----------------------------------------------------------------------------
    def set_video(self, path: Path | None, *, fps: float = 25.0) -> None:
        """Load a video (paused at its start); ``fps`` tunes the drift estimate."""
        self.pause()
        self.tracker.frame_s = 1.0 / fps if fps > 0 else 0.04
        self._pending_seek_s = None
        call_from_event_loop((self.video, "setSource", Q_ARG(QUrl, QUrl.fromLocalFile(str(path)) if path else QUrl())))

    def set_track(self, path: Path | None, *, fixed_offset_s: float | None = None) -> None:
        """Play ``path`` from the offset under the video (None: video alone); ``fixed_offset_s``
        replaces the owner's offset for this track (0 for a render made to the video's length)."""
        playing = self.is_playing
        self._fixed_offset_s = fixed_offset_s
        if path != self._track_path:
            call_from_event_loop((self.track, "stop"),
                                 (self.track, "setSource", Q_ARG(QUrl, QUrl.fromLocalFile(str(path)) if path else QUrl())))
            self._track_path = path
            self._track_played = False
        self._align_track()
        if playing and path is not None:
            self.track.play()

    def realign(self) -> None:
        """The offset moved: the track jumps to match the video at once."""
        self._align_track()

    @property
    def offset_s(self) -> float:
        """Start of the track under the video's first frame (s)."""
        return max(0.0, self._offset() if self._fixed_offset_s is None else self._fixed_offset_s)

    @property
    def track_path(self) -> Path | None:
        """The track under the video."""
        return self._track_path

    # -- transport ---------------------------------------------------------------------------
    @property
    def is_playing(self) -> bool:
        """Whether the video is playing."""
        return self.video.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    @property
    def position_s(self) -> float:
        """Video position (s)."""
        return self.video.position() / 1000.0

    @property
    def track_position_s(self) -> float:
        """Track position (s)."""
        return self.track.position() / 1000.0

    @property
    def duration_s(self) -> float:
        """Video duration (s), 0 until known."""
        return self.video.duration() / 1000.0

    def play(self) -> None:
        """Play both from the current video position (from the start when at the end)."""
        if self.video.source().isEmpty():
            return
        if self.video.mediaStatus() == QMediaPlayer.MediaStatus.EndOfMedia or (
                self.duration_s and self.position_s >= self.duration_s - 0.05):
            self.video.setPosition(0)
        # A track paused after playing sounds later than the video moves on (measured: 15-60 ms at
        # 1x); a track that has not played yet since it was loaded starts with the video.
        resume = self._track_path is not None and self._track_played
        self._align_track(resume=resume)
        self.video.play()
        if self._track_path is not None:
            self.track.play()
            self._track_played = True
        self.tracker.started(time.monotonic(), resume=resume)
        self._timer.start()

    def pause(self) -> None:
        """Pause both."""
        self._timer.stop()
        self.video.pause()
        self.track.pause()
        self._align_track()

    def toggle(self) -> None:
        """Play when paused, pause when playing."""
        self.pause() if self.is_playing else self.play()

    @property
    def loaded(self) -> bool:
        """Whether the video is loaded enough to seek and play."""
        status = QMediaPlayer.MediaStatus
        return self.video.mediaStatus() in {status.LoadedMedia, status.BufferedMedia, status.BufferingMedia,
                                            status.EndOfMedia}

    def seek(self, video_s: float) -> None:
        """Jump to ``video_s`` in the video; the track follows."""
        if not self.loaded:
            self._pending_seek_s = max(0.0, video_s)
            return
        duration = self.duration_s
        target = max(0.0, min(video_s, duration) if duration else video_s)
        self.video.setPosition(int(round(target * 1000)))
        self._align_track(target)
        self.tracker.reset(time.monotonic())
        self.position_changed.emit(target)

    def step(self, delta_s: float) -> None:
        """Seek relative to the current position."""
        self.seek(self.position_s + delta_s)

    def set_rate(self, rate: float) -> None:
        """Playback speed of both players (1.0 = normal)."""
        self._rate = rate
        self.video.setPlaybackRate(rate)
        self.track.setPlaybackRate(rate)
        self.tracker.reset(time.monotonic())

    @property
    def rate(self) -> float:
        """Current playback speed."""
        return self._rate

    def set_volume(self, volume: float) -> None:
        """Track volume, 0–1 (linear gain of the music's audio output)."""
        self.audio.setVolume(min(1.0, max(0.0, volume)))

    @property
    def volume(self) -> float:
        """Track volume, 0–1."""
        return float(self.audio.volume())

    def stop(self) -> None:
        """Stop and release both sources (before the window closes)."""
        self._timer.stop()
        self._stopping = True
        try:
            call_from_event_loop((self.video, "stop"), (self.track, "stop"),
                                 (self.video, "setSource", Q_ARG(QUrl, QUrl())),
                                 (self.track, "setSource", Q_ARG(QUrl, QUrl())))
        finally:
            self._stopping = False
        self._track_path = None

    # -- sync --------------------------------------------------------------------------------
    def _align_track(self, video_s: float | None = None, *, resume: bool = False) -> None:
        if self._track_path is None:
            return
        v = self.position_s if video_s is None else video_s
        # a playing track is aimed ahead by the learned seek latency, one about to resume by the
        # learned resume latency, a paused one exactly
        if self.is_playing:
            target = self.tracker.seek_target(v, self.offset_s)
        else:
            target = self.tracker.start_target(v, self.offset_s) if resume else v + self.offset_s
        self.track.setPosition(int(round(target * 1000)))
        self.tracker.reset(time.monotonic())  # let the jump settle before judging drift again

    def _keep_in_sync(self) -> None:
        if self._track_path is None or not self.is_playing:
            return
        if self.track.mediaStatus() == QMediaPlayer.MediaStatus.EndOfMedia:
            return  # the track ended before the video: nothing to align
        target = self.tracker.add(video_s=self.position_s, track_s=self.track_position_s,
                                  offset_s=self.offset_s, now_s=time.monotonic())
        if target is not None:
            self.track.setPosition(int(round(target * 1000)))

    def _video_state_changed(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        if not playing:
            self._timer.stop()
            # Not while stop() releases the sources (the status slots then do nothing either): this
            # slot then runs inside the video player's own setSource(), and a call from Python,
            # holding the GIL, deadlocked against Qt's FFmpeg thread (py-spy: QMediaPlayer::setSource
            # → this slot → pause → QObject::connectImpl waiting on a mutex; and once in
            # _video_status_changed's pause). stop() stops the track itself.
            if not self._stopping:
                self.track.pause()
        self.playing_changed.emit(playing)

    def _video_status_changed(self, status: QMediaPlayer.MediaStatus) -> None:
        if self._stopping:
            return  # the sources are being released: a call into the player here deadlocks (see above)
        if status == QMediaPlayer.MediaStatus.LoadedMedia and (
                self.video.playbackState() == QMediaPlayer.PlaybackState.StoppedState):
            self.video.pause()  # a paused player shows its first frame; a stopped one stays black
        if status == QMediaPlayer.MediaStatus.LoadedMedia and self._pending_seek_s is not None:
            target, self._pending_seek_s = self._pending_seek_s, None
            self.seek(target)

    def _track_status_changed(self, status: QMediaPlayer.MediaStatus) -> None:
        # A position set before the track was loaded may be dropped (it then starts from 0, seconds
        # away from the offset): set it again once loaded, playing or not.
        if status == QMediaPlayer.MediaStatus.LoadedMedia and not self._stopping:
            self._align_track()

    def _player_error(self, _error: QMediaPlayer.Error, message: str) -> None:
        player = self.sender()
        source = player.source().toLocalFile() if isinstance(player, QMediaPlayer) else ""
        self.error.emit(f"{source}: {message}" if source else message)


def call_from_event_loop(*calls: tuple) -> None:
    """Run the slots ``(object, name, *Q_ARGs)`` in order from a local event loop; return when done.

    Qt's FFmpeg backend tears its playback threads down inside ``stop()`` and ``setSource()``.
    A thread deleting one of its objects calls back into our Python-made player (PySide looks for
    a Python override of ``disconnectNotify``), which needs the GIL, while ``stop()`` waits for that
    thread's lock: called from Python, which holds the GIL, they deadlock (seen in CI as a frozen
    window close). Queued calls run from the event loop, which releases the GIL while it waits.
    """
    loop = QEventLoop()
    for target, name, *args in calls:
        QMetaObject.invokeMethod(target, name, Qt.ConnectionType.QueuedConnection, *args)
    QMetaObject.invokeMethod(loop, "quit", Qt.ConnectionType.QueuedConnection)  # after the calls above
    guard = QTimer(loop)  # never wait forever
    guard.setSingleShot(True)
    guard.timeout.connect(loop.quit)
    guard.start(10_000)
    loop.exec()
