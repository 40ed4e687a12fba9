"""One loop for per-track work over a library (embedding, tagging): progress, cancel, failures.

Each track is stored by ``work`` as soon as it is done, so a batch is resumable; a track that
fails is named with its one-line reason and the batch goes on; a store that cannot be written
stops it (:class:`StoreWriteError`), since nothing after it could be kept either.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..errors import BgmatchError
from ..progress import CancelFn, ProgressFn, cancelled, report
from .store import FeatureStore, StoreWriteError, TrackRecord


@dataclass
class BatchOutcome:
    """What a batch did: track ids done, failures (id, one-line message), whether it was cancelled."""

    done: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False


def for_each_track(store: FeatureStore, track_ids: Sequence[str], work: Callable[[str, TrackRecord], None], *,
                   progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> BatchOutcome:
    """Run ``work(track_id, record)`` for each of ``track_ids``, reporting the track's path as progress."""
    outcome = BatchOutcome()
    for i, track_id in enumerate(track_ids):
        if cancelled(cancel):
            outcome.cancelled = True
            break
        record = store.get(track_id)
        report(progress, i, len(track_ids), record.meta["path"])
        try:
            work(track_id, record)
            outcome.done.append(track_id)
        except StoreWriteError:
            raise
        except (BgmatchError, OSError) as exc:
            outcome.failed.append((track_id, str(exc)))
    if not outcome.cancelled:
        report(progress, len(track_ids), len(track_ids), "")
    return outcome
