"""tests/install_browser.sh asks for only what is missing, each piece on its own.

The script runs with a PATH that holds only stubs (apt-get, sudo, npm, and whichever of chromium,
chromedriver and node the case has) and the few real tools it needs, so the machine's own
Chromium and Node.js are hidden. Each stub writes its arguments to a log the test reads.
"""

import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).with_name("install_browser.sh")
REAL_TOOLS = ("bash", "mkdir", "mktemp", "rm", "tail", "cat")

STUB = """#!{bash}
printf '%s\\n' "{name} $*" >> {log}
{body}
"""


def _sandbox(tmp_path: Path, present: set[str], *, uid: int = 0, failing: str = "") -> tuple[dict, Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    log.touch()
    bash = shutil.which("bash")
    for tool in REAL_TOOLS:
        (bin_dir / tool).symlink_to(shutil.which(tool))

    def stub(name: str, body: str = "", file: str = "") -> None:
        path = bin_dir / (file or name)
        path.write_text(STUB.format(bash=bash, name=name, log=log, body=body))
        path.chmod(0o755)

    stub("id", f"echo {uid}")
    stub("sudo", '"$@"')
    fail = "echo 'E: Unable to correct problems, you have held broken packages.' >&2; exit 100"
    stub("apt-get", fail if failing == "apt-get" else "")
    for name in present:
        stub(name)
    if "npm" not in present:  # what apt would install, kept aside until a test's apt-get puts it in place
        stub("npm", file="npm-from-apt")
    env = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "TWITCHCAUSE_NODE_DIR": str(tmp_path / "node"),
    }
    return env, log


def _run(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([env["PATH"] + "/bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)


def _calls(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if not line.startswith("id ")]


def _node_modules_ready(env: dict) -> None:
    node = Path(env["TWITCHCAUSE_NODE_DIR"]) / "node_modules"
    (node / "axe-core").mkdir(parents=True)
    (node / "axe-core" / "axe.min.js").write_text("")
    (node / ".bin").mkdir()
    (node / ".bin" / "lighthouse").write_text("")
    (node / ".bin" / "lighthouse").chmod(0o755)


EVERYTHING = {"chromium", "chromedriver", "node", "npm"}
NPM_INSTALL = "npm install --prefix {node} --no-audit --no-fund --silent axe-core@4 lighthouse@12"


def test_nothing_missing_asks_for_nothing(tmp_path):
    env, log = _sandbox(tmp_path, EVERYTHING)
    _node_modules_ready(env)
    done = _run(env)
    assert done.returncode == 0, done.stderr
    assert _calls(log) == []


def test_chromium_missing_node_present_asks_apt_for_chromium_alone(tmp_path):
    env, log = _sandbox(tmp_path, {"node", "npm"})
    done = _run(env)
    assert done.returncode == 0, done.stderr
    assert _calls(log) == [
        "apt-get update -qq",
        "apt-get install -y -qq chromium chromium-driver",
        NPM_INSTALL.format(node=env["TWITCHCAUSE_NODE_DIR"]),
    ]


def test_driver_alone_missing_installs_chromium_and_its_driver(tmp_path):
    env, log = _sandbox(tmp_path, {"chromium", "node", "npm"})
    _node_modules_ready(env)
    assert _run(env).returncode == 0
    assert _calls(log) == ["apt-get update -qq", "apt-get install -y -qq chromium chromium-driver"]


def test_chromium_and_node_missing_asks_for_each_on_its_own(tmp_path):
    env, log = _sandbox(tmp_path, set())
    bin_dir = Path(env["PATH"])
    # npm is absent until apt "installs" it
    (bin_dir / "apt-get").write_text(
        (bin_dir / "apt-get").read_text()
        + f'case "$*" in *npm*) {shutil.which("ln")} -s {bin_dir}/npm-from-apt {bin_dir}/npm;; esac\n'
    )
    done = _run(env)
    assert done.returncode == 0, done.stderr
    assert _calls(log) == [
        "apt-get update -qq",
        "apt-get install -y -qq chromium chromium-driver",
        "apt-get install -y -qq nodejs npm",
        NPM_INSTALL.format(node=env["TWITCHCAUSE_NODE_DIR"]),
    ]


def test_not_root_goes_through_sudo(tmp_path):
    env, log = _sandbox(tmp_path, {"node", "npm"}, uid=1000)
    _node_modules_ready(env)
    assert _run(env).returncode == 0
    assert _calls(log) == [
        "sudo apt-get update -qq",
        "apt-get update -qq",
        "sudo apt-get install -y -qq chromium chromium-driver",
        "apt-get install -y -qq chromium chromium-driver",
    ]


def test_apt_failure_is_one_line_naming_the_piece_and_the_command(tmp_path):
    env, log = _sandbox(tmp_path, {"node", "npm"}, failing="apt-get")
    done = _run(env)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("install_browser: could not install Chromium and its driver")
    assert "held broken packages" in done.stderr
    assert done.stderr.rstrip().endswith("run: apt-get install -y chromium chromium-driver")
    assert not any(call.startswith("npm") for call in _calls(log))


def test_not_root_without_sudo_says_to_run_as_root(tmp_path):
    env, log = _sandbox(tmp_path, {"node", "npm"}, uid=1000)
    (Path(env["PATH"]) / "sudo").unlink()
    done = _run(env)
    assert done.returncode == 1
    assert (
        done.stderr
        == "install_browser: Chromium and its driver missing; run as root: apt-get install -y chromium chromium-driver\n"
    )
    assert _calls(log) == []
