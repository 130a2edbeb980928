"""The network exported as BIF, XMLBIF and Hugin NET, read back by pyAgrum (another engine) and by pgmpy."""

from __future__ import annotations

import os
import re

import numpy as np
import pyagrum as gum
import pytest
from cli_helpers import one_error_line, run

from twitchcause.export import FORMATS, export_network, network_text

# pyAgrum's file name decides its reader; .bifxml is its name for XMLBIF
SUFFIX = {"bif": ".bif", "xmlbif": ".bifxml", "net": ".net"}
# pyAgrum 3.3 parses the numbers of BIF and NET files in single precision (0.123456789012 reads as
# 0.12345679104...), XMLBIF in double: so its posteriors match to 1e-9 from XMLBIF and to single precision
# from the other two, whose own text holds every double in full (checked below by reading it back).
POSTERIOR_TOLERANCE = {"bif": 1e-6, "xmlbif": 1e-9, "net": 1e-6}


@pytest.fixture(scope="module")
def m(loaded_model):
    return loaded_model


@pytest.fixture(scope="module")
def exported(m, tmp_path_factory):
    folder = tmp_path_factory.mktemp("networks")
    return {fmt: export_network(m, fmt, folder / f"twitchcause{SUFFIX[fmt]}") for fmt in FORMATS}


def random_cases(m, count: int, seed: int) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        case = {name: str(rng.choice(v.states)) for name, v in m.variables.items() if rng.random() < 0.35}
        try:
            m.infer(case)
        except ValueError:  # evidence the network gives probability zero
            continue
        cases.append(case)
    return cases


def agrum_posteriors(bn, causes, evidence) -> dict[str, float]:
    inference = gum.LazyPropagation(bn)
    inference.setEvidence(evidence)
    inference.makeInference()
    return {cause: inference.posterior(cause)[{cause: "yes"}] for cause in causes}


@pytest.mark.parametrize("fmt", FORMATS)
def test_pyagrum_reads_the_same_network(m, exported, fmt):
    bn = gum.loadBN(str(exported[fmt]))
    network = m.network
    assert set(bn.names()) == set(network.nodes())
    for cpd in network.get_cpds():
        variable = bn.variableFromName(cpd.variable)
        assert list(variable.labels()) == list(cpd.state_names[cpd.variable])
        assert {bn.variable(p).name() for p in bn.parents(cpd.variable)} == set(cpd.variables[1:])


@pytest.mark.parametrize("fmt", FORMATS)
def test_pyagrums_posteriors_are_twitchcauses_on_random_evidence(m, exported, fmt):
    bn = gum.loadBN(str(exported[fmt]))
    for evidence in [{}, *random_cases(m, 12, seed=len(fmt))]:
        ours = m.infer(evidence).posterior
        theirs = agrum_posteriors(bn, m.causes, evidence)
        assert theirs == pytest.approx(ours, abs=POSTERIOR_TOLERANCE[fmt]), evidence


def test_the_bif_file_holds_every_number_in_full(m, exported):
    from pgmpy.inference import VariableElimination
    from pgmpy.readwrite import BIFReader

    network = BIFReader(str(exported["bif"])).get_model()
    for cpd in m.network.get_cpds():
        theirs = network.get_cpds(cpd.variable)
        order = [theirs.variables.index(v) for v in cpd.variables]
        assert np.array_equal(np.transpose(theirs.values, order), cpd.values), cpd.variable
    infer = VariableElimination(network)
    for evidence in random_cases(m, 3, seed=5):
        ours = m.infer(evidence).posterior
        for cause in m.causes:
            theirs = infer.query([cause], evidence=evidence, show_progress=False).get_value(**{cause: "yes"})
            assert theirs == pytest.approx(ours[cause], abs=1e-9)


def test_the_net_file_holds_every_number_in_full(m, exported):
    text = exported["net"].read_text()
    for cpd in m.network.get_cpds():
        found = re.search(rf"potential \({cpd.variable} \|[^)]*\)\{{\n data = (.*?);\n\}}", text, re.DOTALL)
        assert found, cpd.variable
        numbers = [float(x) for x in re.findall(r"[-+0-9.eE]+", found.group(1))]
        assert numbers == np.moveaxis(cpd.values, 0, -1).ravel().tolist(), cpd.variable


def test_every_format_names_the_network(m):
    assert network_text(m, "bif").startswith("network twitchcause {")
    assert "<NAME>twitchcause</NAME>" in network_text(m, "xmlbif")
    assert network_text(m, "net").startswith("net {")


def test_the_command_writes_the_file(capsys, tmp_path, exported):
    target = tmp_path / "net.bif"
    status, out, err = run(capsys, "network", "export", "--format", "bif", str(target))
    assert status == 0 and out == ""
    assert err == f"network (bif) -> {target}\n"
    assert target.read_text() == exported["bif"].read_text()


def test_an_existing_file_is_replaced_whole_and_a_symlink_kept(capsys, tmp_path, exported):
    real = tmp_path / "real.net"
    real.write_text("old")
    link = tmp_path / "link.net"
    link.symlink_to(real)
    status, _, _ = run(capsys, "network", "export", "--format", "net", str(link))
    assert status == 0
    assert link.is_symlink() and real.read_text() == exported["net"].read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.net", "real.net"]


def test_a_failed_write_leaves_the_file_and_no_part(m, tmp_path, monkeypatch):
    target = tmp_path / "mine.bif"
    target.write_text("my own file")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)  # the data reaches the disk at the fsync before the rename
    with pytest.raises(ValueError, match="mine.bif: cannot be written"):
        export_network(m, "bif", target)
    monkeypatch.undo()
    assert target.read_text() == "my own file"
    assert [p.name for p in tmp_path.iterdir()] == ["mine.bif"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--format", "bif", "{tmp}"], "{tmp}: is a folder; expected the path of the network file"),
        (["--format", "bif", "/dev/null"], "/dev/null: is not a regular file; export writes only regular files"),
        (["--format", "net", "{tmp}/nowhere/x.net"], "{tmp}/nowhere: no such folder for the network file x.net"),
        (["--format", "xdsl", "{tmp}/x"], "argument --format: invalid choice: 'xdsl'"),
        (["{tmp}/x.bif"], "the following arguments are required: --format"),
    ],
)
def test_a_bad_target_is_one_line_and_touches_nothing(capsys, tmp_path, argv, message):
    argv = [a.format(tmp=tmp_path) for a in argv]
    status, out, err = run(capsys, "network", "export", *argv)
    assert status == 2 and out == ""
    assert one_error_line(err).startswith(message.format(tmp=tmp_path))
    assert list(tmp_path.iterdir()) == []
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
