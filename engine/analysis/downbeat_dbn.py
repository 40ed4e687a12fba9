"""Offline beat and downbeat decoding: madmom's bar-pointer DBN over beat/downbeat activations.

The model (Böck, Krebs, Widmer, ISMIR 2016) is madmom-infer's ``DBNDownBeatTrackingProcessor``
(BSD-2, a reimplementation of madmom's): one HMM per bar length, the best path of the most
likely one, beats snapped to activation peaks. BeatNet's offline mode uses it with bar lengths
2, 3 and 4 at 50 fps, as here.

Only the Viterbi recursion is ours (:class:`_FastHiddenMarkovModel`): madmom-infer's generic
sparse Viterbi does a dozen full-length array passes per frame and decodes about 20x real time
on one core; the bar-pointer model gives all but a few hundred states a single predecessor, so
a gather for those and a small dense max for the beat-boundary states decodes the same path
several times faster (``tests/engine/test_beats.py`` checks the paths are identical).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from madmom_infer.features.downbeats import DBNDownBeatTrackingProcessor
from madmom_infer.ml.hmm import HiddenMarkovModel


class _FastHiddenMarkovModel(HiddenMarkovModel):
    """madmom-infer's HMM with a Viterbi specialised to the bar-pointer state space.

    There, every state but the first of each (beat, tempo) block has the single predecessor
    ``s - 1`` with probability 1, so one frame of the recursion is a shift of the whole score
    vector plus a small dense max over the block-start states. Scores are kept relative to the
    running sum of the no-beat density (a per-frame constant, so the path is unchanged) so
    only the few beat-range states need their density added.
    """

    def __init__(self, hmm: HiddenMarkovModel) -> None:
        super().__init__(hmm.transition_model, hmm.observation_model, hmm.initial_distribution)
        tm = self.transition_model
        pointers = np.asarray(tm.pointers, dtype=np.int64)
        prev = np.asarray(tm.states, dtype=np.int64)
        log_p = np.asarray(tm.log_probabilities, dtype=float)
        counts = np.diff(pointers)
        n = len(counts)
        single = np.flatnonzero(counts == 1)
        self._multi = np.flatnonzero(counts != 1)
        self._shift_structure = bool(
            np.all(prev[pointers[single]] == single - 1) and np.all(log_p[pointers[single]] == 0.0)
        )
        width = int(counts.max(initial=1))
        # dense [n_multi, width] predecessor table in CSR order, padded with a dummy state n (-inf)
        self._multi_prev = np.full((len(self._multi), width), n, np.int64)
        self._multi_log_p = np.full((len(self._multi), width), -np.inf)
        for row, state in enumerate(self._multi):
            lo, hi = pointers[state], pointers[state + 1]
            self._multi_prev[row, : hi - lo] = prev[lo:hi]
            self._multi_log_p[row, : hi - lo] = log_p[lo:hi]
        self._multi_row = np.full(n, -1, np.int64)
        self._multi_row[self._multi] = np.arange(len(self._multi))
        om_pointers = np.asarray(self.observation_model.pointers, np.int64)
        self._beat_states = np.flatnonzero(om_pointers == 1)
        self._downbeat_states = np.flatnonzero(om_pointers == 2)
        self._other_pointers_ok = bool(np.all(np.isin(om_pointers, (0, 1, 2))))

    def viterbi(self, observations: np.ndarray) -> tuple[np.ndarray, float]:
        """Best state path ``[T]`` (uint32) and its log probability, as madmom's Viterbi."""
        if not (self._shift_structure and self._other_pointers_ok):
            return super().viterbi(observations)
        densities = np.asarray(self.observation_model.log_densities(observations), dtype=float)
        if not np.isfinite(densities).all():
            return super().viterbi(observations)  # madmom's -inf / NaN handling, rare inputs only
        no_beat = densities[:, 0]
        beat_gain = densities[:, 1] - no_beat
        downbeat_gain = densities[:, 2] - no_beat
        n_frames = len(densities)
        n = self.transition_model.num_states
        rows = np.arange(len(self._multi))
        back = np.zeros((n_frames, len(self._multi)), np.uint16)
        candidates = np.empty(self._multi_prev.shape)
        # two score buffers swapped each frame; slot n is a dummy predecessor that stays -inf
        current, previous = np.empty(n + 1), np.empty(n + 1)
        current[n] = previous[n] = -np.inf
        with np.errstate(divide="ignore"):
            current[:n] = np.log(self.initial_distribution)
        multi, multi_prev, multi_log_p = self._multi, self._multi_prev, self._multi_log_p
        beat_states, downbeat_states = self._beat_states, self._downbeat_states
        for frame in range(n_frames):
            previous, current = current, previous
            current[1:n] = previous[: n - 1]
            np.add(previous[multi_prev], multi_log_p, out=candidates)
            best = candidates.argmax(axis=1)  # first maximum, as madmom's strict '>' scan
            back[frame] = best
            current[multi] = candidates[rows, best]
            current[beat_states] += beat_gain[frame]
            current[downbeat_states] += downbeat_gain[frame]
        state = int(np.argmax(current[:n]))
        log_probability = float(current[state] + no_beat.sum())
        if np.isinf(log_probability):
            return np.empty(0, dtype=np.uint32), log_probability
        path = np.empty(n_frames, dtype=np.uint32)
        for frame in range(n_frames - 1, -1, -1):
            path[frame] = state
            row = self._multi_row[state]
            state = int(self._multi_prev[row, back[frame, row]]) if row >= 0 else state - 1
        return path, log_probability


class DownbeatDecoder:
    """Bar-pointer DBN decoding of ``[T, 2]`` (beat, downbeat) activations into beats.

    Building the state spaces takes a moment, so make one decoder and reuse it.
    """

    def __init__(
        self,
        *,
        fps_hz: float,
        beats_per_bar: Sequence[int] = (2, 3, 4),
        min_bpm: float = 55.0,
        max_bpm: float = 215.0,
        transition_lambda: float = 100.0,
    ) -> None:
        self._processor = DBNDownBeatTrackingProcessor(
            beats_per_bar=list(beats_per_bar),
            min_bpm=min_bpm,
            max_bpm=max_bpm,
            transition_lambda=transition_lambda,
            fps=fps_hz,
        )
        self._processor.hmms = [_FastHiddenMarkovModel(h) for h in self._processor.hmms]

    def decode(self, activations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Beat times ``[B]`` (s, float64) and their positions in the bar ``[B]`` (1 = downbeat)."""
        act = np.asarray(activations, dtype=float)
        if act.ndim != 2 or act.shape[1] != 2:
            raise ValueError(f"activations must have shape [T, 2], got {act.shape}")
        # probabilities of exactly 0 or a sum of 1 give log(0): keep them inside (0, 1)
        act = np.clip(act, 1e-7, None)
        total = act.sum(axis=1, keepdims=True)
        act = np.where(total > 1 - 1e-7, act / total * (1 - 1e-7), act)
        result = np.asarray(self._processor(act))
        if result.size == 0:
            return np.zeros(0), np.zeros(0, np.int64)
        return result[:, 0].astype(np.float64), result[:, 1].astype(np.int64)
