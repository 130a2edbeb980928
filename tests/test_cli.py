"""The command line: each command, the JSON shape, and one line on stderr with exit 2 for user errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cli_helpers import one_error_line, run

from twitchcause import model
from twitchcause.cli import main

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / ".venv" / "bin" / "twitchcause"
CAUSES = tuple(model.load().causes)


@pytest.fixture(scope="module")
def m(loaded_model):
    return loaded_model


# -- infer -----------------------------------------------------------------------------------------
def test_infer_table_lists_every_cause_and_the_disclaimer(capsys):
    status, out, err = run(capsys, "infer", "caffeine_intake=high", "sleep=short", "twitch_site=calf")
    assert status == 0
    assert err == ""
    table = out.splitlines()
    assert table[0].split() == ["cause", "prior", "posterior", "90%", "interval"]
    rows = [line.split()[0] for line in table[2 : 2 + 12]]
    assert sorted(rows) == sorted(CAUSES)
    assert rows[0] == "caffeine"
    assert "escalation: self_care" in out
    assert model.DISCLAIMER in out


def test_infer_table_shows_posterior_percentages(capsys, m):
    status, out, _ = run(capsys, "infer", "caffeine_intake=high")
    expected = m.infer({"caffeine_intake": "high"}).posterior["caffeine"]
    line = next(x for x in out.splitlines() if x.startswith("caffeine "))
    assert f"{expected:.1%}" in line


def test_infer_table_shows_the_reasons(capsys):
    status, out, _ = run(capsys, "infer", "weakness=yes")
    assert status == 0
    assert "escalation: see_doctor_promptly" in out
    assert "[weakness]" in out


def test_infer_json_shape(capsys, m):
    status, out, err = run(capsys, "infer", "--json", "caffeine_intake=high", "pain=yes")
    assert status == 0 and err == ""
    data = json.loads(out)
    assert {"posterior", "prior", "escalation"} <= set(data)
    assert list(data["posterior"]) == list(CAUSES) and len(data["posterior"]) == 12
    assert list(data["prior"]) == list(CAUSES)
    assert set(data["escalation"]) == {"level", "reasons", "pending", "settled"}
    assert data["escalation"]["level"] == "see_doctor"
    assert data["escalation"]["pending"] == ["weakness", "muscle_wasting", "walking_difficulty"]
    assert data["escalation"]["settled"] is False and data["not_sure"] == []
    reason = data["escalation"]["reasons"][0]
    assert set(reason) >= {"rule", "level", "message", "source"}
    assert reason["rule"] == "pain"
    expected = m.infer({"caffeine_intake": "high", "pain": "yes"})
    assert data["posterior"] == pytest.approx(expected.posterior, abs=1e-12)
    assert data["prior"] == pytest.approx(m.prior, abs=1e-12)


def test_not_sure_as_a_value_or_an_option_means_the_same(capsys, m):
    _, by_value, _ = run(capsys, "infer", "--json", "weakness=not_sure", "caffeine_intake=high")
    _, by_option, _ = run(capsys, "infer", "--json", "--not-sure", "weakness", "caffeine_intake=high")
    assert json.loads(by_value) == json.loads(by_option)
    data = json.loads(by_value)
    assert data["not_sure"] == ["weakness"] and data["evidence"] == {"caffeine_intake": "high"}
    assert data["escalation"]["level"] == "see_doctor_promptly"
    assert data["escalation"]["reasons"][0]["not_sure"] is True
    status, table, _ = run(capsys, "infer", "--not-sure", "pain", "caffeine_intake=high")
    assert status == 0 and "not sure: pain" in table
    assert "not yet a verdict: 3 warning-sign questions left: weakness, muscle_wasting, walking_difficulty" in table


def test_not_sure_on_an_answered_variable_is_a_one_line_error(capsys):
    status, _, err = run(capsys, "infer", "--not-sure", "pain", "pain=no")
    assert status == 2 and err.strip() == "twitchcause: error: 'pain' is both answered ('no') and not sure; give one"


def test_schema_offers_not_sure(capsys):
    status, out, _ = run(capsys, "schema", "--json")
    assert status == 0 and json.loads(out)["not_sure"]["answer"] == "not_sure"


POSTERIOR = {"posterior", "none_identified", "prior", "serious_causes", "ranking"}
ESCALATION = {"escalation", "safety_net"}
INTERVAL = {"interval", "posterior_outside_interval"}


@pytest.mark.parametrize(
    "include, keys",
    [
        ("posterior,escalation", POSTERIOR | ESCALATION),
        ("escalation", ESCALATION),
        ("interval , what_would_help", INTERVAL | {"what_would_help"}),
        (
            "posterior,escalation,interval,what_would_help,explanation,next",
            POSTERIOR | ESCALATION | INTERVAL | {"what_would_help"},
        ),
    ],
)
def test_infer_json_computes_only_the_included_sections(capsys, m, include, keys):
    status, out, err = run(capsys, "infer", "--json", "caffeine_intake=high", "--include", include)
    assert status == 0 and err == ""
    data = json.loads(out)
    assert set(data) == keys | {"evidence", "not_sure", "priors", "disclaimer"}
    full = json.loads(json.dumps(m.report({"caffeine_intake": "high"})))
    assert all(data[key] == full[key] for key in data)


BAD_INCLUDES = [
    (["--include", "posterir"], "unknown section 'posterir' (did you mean 'posterior'?); expected one of posterior, "),
    (["--include", "escalation,escalation"], "section 'escalation' is given twice; give it once"),
    (
        ["--include", "escalation", "--explain", "caffeine"],
        '"explain" asks for "explanation", which include leaves out',
    ),
    (["--include", "posterior", "--next", "2"], '"next" asks for "next", which include leaves out'),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INCLUDES, ids=[" ".join(a) for a, _ in BAD_INCLUDES])
def test_a_bad_include_is_one_line(capsys, argv, message):
    status, out, err = run(capsys, "infer", "--json", "weakness=yes", *argv)
    assert status == 2 and out == ""
    assert one_error_line(err).startswith(message)


def test_include_without_json_is_one_line(capsys):
    status, out, err = run(capsys, "infer", "weakness=yes", "--include", "posterior")
    assert status == 2 and out == ""
    assert one_error_line(err) == "--include works with --json (the table shows every section)"


def test_infer_without_evidence_is_the_prior(capsys, m):
    status, out, _ = run(capsys, "infer", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["posterior"] == pytest.approx(data["prior"], abs=1e-12)
    assert {k: data["escalation"][k] for k in ("level", "reasons", "settled")} == {
        "level": "self_care",
        "reasons": [],
        "settled": False,  # no answer yet: every rule question is open
    }


def test_infer_evidence_file(capsys, tmp_path, m):
    case = {"caffeine_intake": "high", "sleep": "short", "weakness": "no"}
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    status, out, _ = run(capsys, "infer", "--evidence-file", str(path), "--json")
    assert status == 0
    assert json.loads(out)["posterior"] == pytest.approx(m.infer(case).posterior, abs=1e-12)


def test_an_answer_in_the_file_and_as_an_argument_is_given_twice(capsys, tmp_path):
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"caffeine_intake": "high", "weakness": "no"}), encoding="utf-8")
    status, out, err = run(capsys, "infer", "--evidence-file", str(path), "caffeine_intake=none", "--json")
    assert status == 2 and out == ""
    assert one_error_line(err) == (
        "evidence 'caffeine_intake' is given twice ('high' in the file and 'none'); give it once"
    )


def test_the_file_and_the_arguments_add_up(capsys, tmp_path, m):
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"caffeine_intake": "high"}), encoding="utf-8")
    status, out, _ = run(capsys, "infer", "--evidence-file", str(path), "weakness=no", "--json")
    assert status == 0
    expected = m.infer({"caffeine_intake": "high", "weakness": "no"}).posterior
    assert json.loads(out)["posterior"] == pytest.approx(expected, abs=1e-12)


def test_packaged_example_runs(capsys):
    status, out, _ = run(capsys, "infer", "--evidence-file", str(REPO / "examples" / "coffee_exam_week.json"))
    assert status == 0
    assert out.splitlines()[2].startswith("caffeine")


def test_missing_evidence_file(capsys, tmp_path):
    path = tmp_path / "nowhere.json"
    status, out, err = run(capsys, "infer", "--evidence-file", str(path))
    assert status == 2 and out == ""
    assert one_error_line(err) == f"{path}: no such file"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{caffeine_intake: high}", "not valid JSON"),
        ("", "not valid JSON"),
        ('{"caffeine_intake": "high",}', "not valid JSON"),
        ('["caffeine_intake", "high"]', "expected a JSON object {variable: state}, got list"),
        ('"caffeine_intake=high"', "expected a JSON object {variable: state}, got str"),
        ("null", "expected a JSON object {variable: state}, got NoneType"),
        (
            '{"caffeine_intake": 3}',
            "evidence 'caffeine_intake' must be a state name (text), got 3; expected one of none, moderate, high",
        ),
        (
            '{"caffiene_intake": "high"}',
            "unknown evidence variable 'caffiene_intake' (did you mean 'caffeine_intake'?)",
        ),
    ],
)
def test_bad_evidence_file(capsys, tmp_path, content, message):
    path = tmp_path / "case.json"
    path.write_text(content, encoding="utf-8")
    status, out, err = run(capsys, "infer", "--evidence-file", str(path))
    assert status == 2 and out == ""
    assert re.search(re.escape(message), one_error_line(err))


def test_bad_json_names_the_file(capsys, tmp_path):
    path = tmp_path / "case.json"
    path.write_text("{oops", encoding="utf-8")
    _, _, err = run(capsys, "infer", "--evidence-file", str(path))
    assert one_error_line(err).startswith(f"{path}: not valid JSON")


BAD_ARGS = [
    (
        ["caffiene_intake=high"],
        "unknown evidence variable 'caffiene_intake' (did you mean 'caffeine_intake'?); "
        "expected one of caffeine_intake, ",
    ),
    (
        ["caffeine_intake=hgh"],
        "evidence 'caffeine_intake' has no state 'hgh'; expected one of none, moderate, high (did you mean 'high'?)",
    ),
    (["weakness=maybe"], "evidence 'weakness' has no state 'maybe'; expected one of no, yes"),
    (["caffeine_intake"], "evidence 'caffeine_intake' is not VAR=STATE (for example caffeine_intake=high)"),
    (["=high"], "evidence '=high' is not VAR=STATE"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_ARGS, ids=[a[0] for a, _ in BAD_ARGS])
def test_bad_name_or_state_is_one_line(capsys, argv, message):
    status, out, err = run(capsys, "infer", *argv)
    assert status == 2
    assert out == ""
    assert one_error_line(err).startswith(message)


def test_bad_name_with_json_flag_is_still_one_line(capsys):
    status, out, err = run(capsys, "infer", "--json", "caffeine_intake=hgh")
    assert status == 2 and out == ""
    assert "did you mean 'high'?" in one_error_line(err)


def test_empty_state_is_unknown(capsys, m):
    status, out, _ = run(capsys, "infer", "--json", "caffeine_intake=")
    assert status == 0
    assert json.loads(out)["posterior"] == pytest.approx(m.prior, abs=1e-12)


def test_broken_priors_folder_is_reported(capsys, tmp_path):
    from twitchcause import priors

    folder = tmp_path / "p"
    shutil.copytree(priors.DEFAULT_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (folder / "sources.yaml").unlink()
    status, out, err = run(capsys, "infer", "--priors", str(folder), "caffeine_intake=high")
    assert status == 2 and out == ""
    assert one_error_line(err) == f"{folder / 'sources.yaml'}: file is missing"


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["guess"])
    assert info.value.code == 2
    assert "invalid choice: 'guess'" in capsys.readouterr().err


# -- schema ----------------------------------------------------------------------------------------
def test_schema_json_holds_the_shared_vocabulary(capsys, shared_dir):
    vocabulary = yaml.safe_load((shared_dir / "spec" / "vocabulary.yaml").read_text(encoding="utf-8"))
    status, out, _ = run(capsys, "schema", "--json")
    assert status == 0
    schema = json.loads(out)
    assert list(schema["causes"]) == list(vocabulary["causes"])
    assert list(schema["evidence"]) == list(vocabulary["evidence"])
    for name, spec in vocabulary["evidence"].items():
        assert schema["evidence"][name]["states"] == list(spec["states"]), name
        assert schema["evidence"][name]["question"] == spec["question"], name
    assert list(schema["escalation_levels"]) == list(vocabulary["escalation_levels"])
    for cause, description in vocabulary["causes"].items():
        assert schema["causes"][cause]["description"] == description


def test_schema_json_without_shared_folder(capsys, m):
    status, out, _ = run(capsys, "schema", "--json")
    schema = json.loads(out)
    assert len(schema["causes"]) == 12 and len(schema["evidence"]) == 32
    assert schema["evidence"]["caffeine_intake"]["states"] == ["none", "moderate", "high"]
    assert list(schema["escalation_levels"]) == ["self_care", "see_doctor", "see_doctor_promptly"]


def test_schema_text(capsys, m):
    status, out, _ = run(capsys, "schema")
    assert status == 0
    for cause in m.causes:
        assert re.search(rf"^  {cause}: ", out, re.M), cause
    for name, variable in m.variables.items():
        assert re.search(rf"^  {name}: {re.escape(variable.question)}$", out, re.M), name
        assert f"states: {', '.join(variable.states)}" in out
    for level in ("self_care", "see_doctor", "see_doctor_promptly"):
        assert re.search(rf"^  {level}: ", out, re.M)


# -- priors check ------------------------------------------------------------------------------------
def test_priors_check_default_folder(capsys):
    status, out, err = run(capsys, "priors", "check")
    assert status == 0 and err == ""
    assert re.fullmatch(r".+: ok: \d+ numbers, 32 variables, 12 causes, \d+ rules\n", out)


def test_priors_check_missing_folder(capsys, tmp_path):
    status, out, err = run(capsys, "priors", "check", str(tmp_path / "none"))
    assert status == 2 and out == ""
    assert err.splitlines() == [f"{tmp_path / 'none'}: not a folder of priors files"]


# -- the installed command, in a real process ----------------------------------------------------------
needs_cli = pytest.mark.skipif(not CLI.exists(), reason=f"{CLI} is not installed (run make test)")


def subprocess_env():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


@needs_cli
def test_installed_command_bad_state_exit_2_one_line():
    proc = subprocess.run(
        [str(CLI), "infer", "caffeine_intake=hgh"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=subprocess_env(),
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[-1] == (
        "twitchcause: error: evidence 'caffeine_intake' has no state 'hgh'; expected one of none, moderate, high "
        "(did you mean 'high'?)"
    )
    assert "Traceback" not in proc.stderr


@needs_cli
def test_installed_command_json_and_priors_check(tmp_path):
    proc = subprocess.run(
        [str(CLI), "infer", "--json", "urge_to_move=yes", "timing=at_night"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=subprocess_env(),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert max(data["posterior"], key=data["posterior"].get) == "restless_legs"
    # the installed command finds its priors outside the source tree
    check = subprocess.run(
        [str(CLI), "priors", "check"], capture_output=True, text=True, cwd=tmp_path, env=subprocess_env(), timeout=120
    )
    assert check.returncode == 0, check.stderr
    assert ": ok: " in check.stdout


def test_module_runs_as_a_script():
    proc = subprocess.run(
        [sys.executable, "-m", "twitchcause", "schema", "--json"], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["causes"]) == 12


@pytest.mark.parametrize(
    "argv, message",
    [
        (["weakness=yes", "weakness=no"], "evidence 'weakness' is given twice ('yes' and 'no'); give it once"),
    ],
)
def test_an_answer_given_twice_is_a_user_error(capsys, argv, message):
    status, _, err = run(capsys, "infer", *argv)
    assert status == 2
    assert one_error_line(err) == message


def test_a_json_key_given_twice_is_a_user_error(capsys, tmp_path):
    case = tmp_path / "case.json"
    case.write_text('{"weakness": "yes", "weakness": "no"}', encoding="utf-8")
    status, _, err = run(capsys, "infer", "--evidence-file", str(case))
    assert status == 2
    assert one_error_line(err) == "evidence 'weakness' is given twice ('yes' and 'no'); give it once"


def test_an_evidence_file_with_a_byte_order_mark_is_read(capsys, tmp_path):
    case = tmp_path / "case.json"
    case.write_text('\ufeff{"weakness": "yes"}', encoding="utf-8")
    status, out, _ = run(capsys, "infer", "--evidence-file", str(case), "--json")
    assert status == 0
    assert json.loads(out)["escalation"]["level"] == "see_doctor_promptly"


def test_a_folder_as_evidence_file_is_a_user_error(capsys, tmp_path):
    status, _, err = run(capsys, "infer", "--evidence-file", str(tmp_path))
    assert status == 2
    assert one_error_line(err) == f"{tmp_path}: cannot be read (Is a directory)"


def test_a_state_in_the_wrong_case_suggests_the_right_one(capsys):
    status, _, err = run(capsys, "infer", "weakness=YES")
    assert status == 2
    assert one_error_line(err).endswith("expected one of no, yes (did you mean 'yes'?)")


# -- hostile and clumsy input: one line, never a traceback, never a hang --------------------------------
@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["weak\nness=yes"], "unknown evidence variable 'weak\\nness'"),
        (["weakness=y\res"], "has no state 'y\\res'"),
        (["weakness=\x1b[31myes"], "has no state '\\x1b[31myes'"),
        (["weakness=yes\u2028no"], "has no state 'yes\\u2028no'"),
        (["--js\non"], "unrecognized arguments: --js\\non"),
    ],
)
def test_control_characters_are_escaped_in_the_one_error_line(capsys, argv, shown):
    status, _, err = run(capsys, "infer", *argv)
    assert status == 2
    assert shown in one_error_line(err)


def test_a_very_long_state_is_cut_and_not_searched_for_a_match(capsys):
    status, _, err = run(capsys, "infer", "weakness=" + "y" * 2_000_000)
    assert status == 2
    line = one_error_line(err)
    assert len(line) < 300
    assert "has no state 'yyyyyyyyyy" in line and "(2,000,000 characters)" in line and "did you mean" not in line


def test_deeply_nested_evidence_file(capsys, tmp_path):
    path = tmp_path / "case.json"
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    status, _, err = run(capsys, "infer", "--evidence-file", str(path))
    assert status == 2
    assert one_error_line(err) == f"{path}: not valid JSON (nested too deeply)"


def test_an_endless_evidence_file_is_refused(capsys):
    status, _, err = run(capsys, "infer", "--evidence-file", "/dev/zero")
    assert status == 2
    assert one_error_line(err) == "/dev/zero: cannot be read (not a regular file)"


def test_a_fifo_as_evidence_file_is_refused_without_waiting(capsys, tmp_path):
    fifo = tmp_path / "case.json"
    os.mkfifo(fifo)
    status, _, err = run(capsys, "infer", "--evidence-file", str(fifo))
    assert status == 2
    assert one_error_line(err) == f"{fifo}: cannot be read (not a regular file)"


def test_a_huge_evidence_file_is_refused(capsys, tmp_path):
    path = tmp_path / "case.json"
    path.write_text('{"weakness": "' + "y" * (2 << 20) + '"}', encoding="utf-8")
    status, _, err = run(capsys, "infer", "--evidence-file", str(path))
    assert status == 2
    assert one_error_line(err) == f"{path}: cannot be read (larger than 1,048,576 bytes)"


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_app_with_an_impossible_port_is_one_line(capsys, port):
    status, _, err = run(capsys, "app", "--port", port)
    assert status == 2
    assert "port" in one_error_line(err)


@needs_cli
def test_a_full_disk_on_stdout_is_one_line_and_a_failure(tmp_path):
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [str(CLI), "infer", "weakness=yes", "--json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
            timeout=120,
        )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["twitchcause: error: cannot write the output (No space left on device)"]


@needs_cli
def test_a_closed_pipe_on_stdout_is_quiet():
    proc = subprocess.Popen([str(CLI), "schema"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env())
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert err == ""


def test_results_name_the_priors_folder_and_its_fingerprint(capsys, tmp_path):
    import shutil

    from twitchcause import priors

    status, out, _ = run(capsys, "infer", "caffeine_intake=high", "--json")
    named = json.loads(out)["priors"]
    assert status == 0 and named["folder"] == str(priors.DEFAULT_DIR)
    assert named["fingerprint"] == priors.load_priors().fingerprint
    folder = tmp_path / "copy"
    shutil.copytree(priors.DEFAULT_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    status, out, _ = run(capsys, "infer", "caffeine_intake=high", "--priors", str(folder))
    assert status == 0 and f"priors: {folder} (fingerprint {named['fingerprint']})" in out


@pytest.mark.parametrize("entry", ["twitchcause.cli", "twitchcause.app.wsgi"])
def test_the_commands_and_the_server_run_numpy_on_one_blas_thread(entry):
    # The model's products are small: BLAS threads only fight each other and the other processes
    # for the cores (a unique dashboard case took three times as long on a busy 2-core machine).
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    script = (
        f"import {entry}, numpy, threadpoolctl; print(max(i['num_threads'] for i in threadpoolctl.threadpool_info()))"
    )
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
