"""Intervals from the words' bands, and how robust cases are to the numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import run
from hypothesis import given, settings
from hypothesis import strategies as st

from twitchcause import model
from twitchcause.model.engine import engine_key
from twitchcause.model.network import node_tables
from twitchcause.model.uncertainty import Ensemble, compiled, draw_of, resample
from twitchcause.priors import iter_entries, load_priors


@pytest.fixture(scope="module")
def m():
    return model.load()


def test_every_drawn_number_stays_in_its_band_and_every_distribution_sums_to_one(m):
    drawn = resample(m.priors, np.random.default_rng(1), draw_of(m.priors))
    words = m.priors.scale.words
    for name, entry in iter_entries(m.priors):
        if name.file == "escalation" or entry.word is None:
            continue
        low, high = words[entry.word].band
        parts = name.parts
        if name.file == "context":
            value = drawn.context[parts[0]][parts[1]].value
        elif name.file == "causes":
            spec = drawn.cause_priors[parts[0]]
            value = spec.leak.value if parts[1] == "leak" else spec.links[parts[1]][parts[2]].value
        else:
            spec = drawn.findings[parts[0]]
            value = (spec.leak if parts[1] == "leak" else spec.causes[parts[1]])[parts[2]].value
        # a distribution whose draws overflow is shrunk to fit, so a value may fall below its band, never above
        assert value <= high + 1e-12, name
        assert value > 0
    for spec in drawn.findings.values():
        for numbers in [spec.leak, *spec.causes.values()]:
            assert sum(n.value for n in numbers.values()) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    "evidence",
    [
        {},
        {"caffeine_intake": "high", "twitch_site": "calf", "duration": "hours", "weakness": "no"},
        {"spread": "both_legs", "sleep": "short"},  # one finding over both halves of the causes
        {"spread": "one_spot", "timing": "at_night", "fluid_intake": "low"},  # two
        {"spread": "one_leg", "timing": "after_exercise", "frequency": "frequent", "stress_level": "high"},  # three
    ],
    ids=["nothing", "within halves", "one spanning", "two spanning", "three spanning"],
)
def test_the_ensemble_gives_each_draws_own_engine_posterior(m, evidence):
    """The stacked evaluation equals compiling each drawn priors on its own and asking it (to single precision)."""
    priors = m.priors
    ensemble = Ensemble.build(priors, m.engine, draws=3, seed=7)
    rng = np.random.default_rng(7)
    codes = m.engine.encode(m.parse(evidence))
    stacked = ensemble.marginals(codes)
    for d in range(3):
        alone = compiled(resample(priors, rng, draw_of(priors))).marginals_codes(codes[None, :])[0]
        np.testing.assert_allclose(stacked[d], alone, atol=2e-6)  # the ensemble works in single precision


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_an_interval_is_its_draws_quantiles_and_says_whether_it_holds_the_posterior(m, data):
    evidence = {
        name: data.draw(st.sampled_from((None, *v.states)), label=name)
        for name, v in list(m.variables.items())[:: data.draw(st.integers(2, 5), label="step")]
    }
    result = m.infer(evidence)
    draws = m.ensemble.marginals(m.engine.encode(result.evidence))
    assert set(result.interval) == set(m.causes)
    for i, cause in enumerate(m.causes):
        low, high = result.interval[cause]
        assert low == pytest.approx(np.quantile(draws[:, i], 0.05), abs=1e-12)
        assert high == pytest.approx(np.quantile(draws[:, i], 0.95), abs=1e-12)
        assert result.interval[cause].holds_posterior == (low <= result.posterior[cause] <= high)
        assert (cause in result.outside_interval) != result.interval[cause].holds_posterior


def test_a_posterior_in_the_tail_of_its_draws_is_shown_outside_its_interval(m):
    """A word whose band lies almost all above its value: the written number sits below nearly every draw.

    P(medication | asthma drug) = 1 - (1 - leak)(1 - can); with 'can' at 0.25 in a band
    [0.24, 0.9], the triangular draws fall below 0.25 with chance 0.01 / 0.66, so the
    5% quantile is above the posterior of the numbers as written.
    """
    from twitchcause.priors import tune_word

    skewed = model.Model(tune_word(m.priors, "can", 0.25, why="test", band=(0.24, 0.9)))
    result = skewed.infer({"medication_type": "asthma"})
    low, high = result.interval["medication"]
    assert result.posterior["medication"] < low < high
    assert not result.interval["medication"].holds_posterior
    assert "medication" in result.outside_interval
    data = json.loads(json.dumps(result.to_dict()))
    assert data["interval"]["medication"] == [low, high]
    assert data["posterior_outside_interval"]["medication"] is True
    assert data["posterior_outside_interval"]["restless_legs"] is False


def test_intervals_are_reproducible_and_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("TWITCHCAUSE_CACHE_DIR", str(tmp_path))
    import twitchcause

    first = twitchcause.load().infer({"sleep": "very_short"}).interval
    files = sorted(tmp_path.glob("engine-*.npz"))
    assert len(files) == 2  # the engine and its draws
    again = twitchcause.load().infer({"sleep": "very_short"}).interval
    assert again == first


def test_the_ensemble_key_follows_the_bands(m):
    from twitchcause.model.uncertainty import ensemble_key
    from twitchcause.priors import tune_word

    key = engine_key(node_tables(m.priors))
    wider = tune_word(m.priors, "often", 0.6, why="test", band=(0.4, 0.75))
    assert ensemble_key(wider, key) != ensemble_key(m.priors, key)


def test_infer_json_carries_intervals(capsys):
    status, out, _ = run(capsys, "infer", "caffeine_intake=high", "--json")
    data = json.loads(out)
    assert status == 0 and set(data["interval"]) == set(data["posterior"])
    low, high = data["interval"]["caffeine"]
    assert 0.0 <= low <= high <= 1.0
    assert data["posterior_outside_interval"]["caffeine"] == (not low <= data["posterior"]["caffeine"] <= high)


def test_robustness_reports_every_case_and_an_overall_line(tmp_path, capsys):
    cases = [
        {"id": "coffee", "evidence": {"caffeine_intake": "high", "sleep": "adequate"}},
        {"id": "legs", "evidence": {"urge_to_move": "yes", "timing": "at_night"}},
    ]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    status, out, _ = run(capsys, "robustness", str(path), "--draws", "20", "--spread", "0.35")
    assert status == 0
    lines = out.splitlines()
    assert any(line.startswith("coffee") and "caffeine" in line for line in lines)
    assert any(line.startswith("legs") and "restless_legs" in line for line in lines)
    assert lines[-1].startswith("overall: top cause held in")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "expected a list of cases with an 'evidence' object"),
        ('{"a": 3}', "case 'a': evidence must be an object"),
        ("{}", "no cases"),
    ],
)
def test_robustness_rejects_a_bad_cases_file(tmp_path, capsys, content, message):
    path = tmp_path / "cases.json"
    path.write_text(content)
    status, _, err = run(capsys, "robustness", str(path))
    assert status == 2 and message in err and len(err.splitlines()) == 1


def test_robustness_rejects_a_bad_spread(capsys, tmp_path):
    path = tmp_path / "cases.json"
    path.write_text('{"a": {"weakness": "no"}}')
    status, _, err = run(capsys, "robustness", str(path), "--spread", "1.5")
    assert status == 2 and "spread must be a share in [0, 1)" in err


def test_a_priors_folder_without_uncertainty_settings_is_named(tmp_path):
    import shutil

    from twitchcause import priors

    folder = tmp_path / "p"
    shutil.copytree(priors.DEFAULT_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (folder / "uncertainty.yaml").unlink()
    with pytest.raises(priors.PriorsError, match="uncertainty.yaml: file is missing"):
        load_priors(folder)


def test_interval_quantiles_are_numpys(m):
    codes = m.engine.encode(m.parse({"caffeine_intake": "high", "twitch_site": "calf"}))
    low, high = m.ensemble.interval(codes, 0.9)
    marginals = m.ensemble.marginals(codes)
    np.testing.assert_allclose(low, np.quantile(marginals, 0.05, axis=0), atol=1e-12)
    np.testing.assert_allclose(high, np.quantile(marginals, 0.95, axis=0), atol=1e-12)


def test_an_interval_is_a_pair_that_keeps_its_posterior_through_a_copy():
    import copy
    import pickle

    from twitchcause.model.api import Interval

    interval = Interval(0.2, 0.3, 0.35)
    assert interval == (0.2, 0.3) and list(interval) == [0.2, 0.3] and json.dumps(interval) == "[0.2, 0.3]"
    for copied in (pickle.loads(pickle.dumps(interval)), copy.deepcopy(interval)):
        assert copied == (0.2, 0.3) and not copied.holds_posterior
    assert Interval(0.2, 0.3, 0.25).holds_posterior


def test_a_case_whose_product_would_underflow_is_weighed_in_log_space(m, monkeypatch):
    """Both ways of weighing the draws agree; a total below the floor takes the log-space way."""
    from twitchcause.model import uncertainty

    codes = m.engine.encode(m.parse({"caffeine_intake": "high", "spread": "both_legs", "timing": "at_night"}))
    product = m.ensemble.marginals(codes)
    calls = []
    in_log_space = m.ensemble._marginals_in_log_space
    monkeypatch.setattr(m.ensemble, "_marginals_in_log_space", lambda p: calls.append(p) or in_log_space(p))
    monkeypatch.setattr(uncertainty, "SMALLEST_TOTAL", 2.0)  # every total is below it
    np.testing.assert_allclose(m.ensemble.marginals(codes), product, atol=1e-5)
    assert len(calls) == 1


def test_stored_draws_round_trip_and_draws_that_do_not_fit_are_refused(m):
    arrays = m.ensemble.to_arrays()
    again = Ensemble.from_arrays(m.engine, arrays)
    codes = m.engine.encode({"caffeine_intake": "high", "weakness": "no"})
    np.testing.assert_array_equal(again.marginals(codes), m.ensemble.marginals(codes))
    for flat in (arrays["draw_tables"][:-1], arrays["draw_tables"][:0], arrays["draw_tables"].reshape(1, -1)):
        with pytest.raises(ValueError):
            Ensemble.from_arrays(m.engine, {"draw_tables": flat})
