"""The fit's calibration: a balanced logistic fit of right against wrong tracks' scores."""
from __future__ import annotations

import numpy as np
import pytest

from bgmatch.engine.errors import ConfigError
from bgmatch.training.sync_tuning import calibrate_fit


def test_calibration_recovers_the_logistic_that_made_the_labels():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 3.0, 20000)
    right = rng.uniform(size=x.size) < 1 / (1 + np.exp(-3.0 * (x - 1.0)))  # σ(3 · (x − 1))
    slope, midpoint = calibrate_fit(x[right], x[~right])
    # equal class weights move nothing here: the classes are about as large
    assert slope == pytest.approx(3.0, rel=0.1) and midpoint == pytest.approx(1.0, abs=0.05)


def test_the_midpoint_does_not_depend_on_how_many_wrong_tracks_there_are():
    rng = np.random.default_rng(1)
    right, wrong = rng.normal(2.0, 0.5, 200), rng.normal(0.0, 0.5, 200)
    few = calibrate_fit(right, wrong)
    many = calibrate_fit(right, np.tile(wrong, 20))  # a gallery 20 times larger, the same kind of track
    assert many == pytest.approx(few, rel=1e-3) and few[1] == pytest.approx(1.0, abs=0.1)
    with pytest.raises(ConfigError, match="at least two"):
        calibrate_fit([1.0], [0.0, 0.5])
    with pytest.raises(ConfigError, match="do not score above"):
        calibrate_fit(wrong, right)  # a score that ranks the right tracks last
