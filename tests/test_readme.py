"""The README cannot drift: its first two commands are the ones CI and the demo test run,
and every `opskit ...` command it shows exists."""

from __future__ import annotations

import re
import shlex

from tests.conftest import ROOT, run_opskit

README = ROOT / "README.md"


def _first_block() -> list[str]:
    text = README.read_text()
    match = re.search(r"```(?:bash|sh)?\n(.*?)```", text, re.S)
    assert match, "README.md has no code block"
    return [ln.strip() for ln in match.group(1).splitlines() if ln.strip()]


def test_readme_opens_with_install_and_demo_then_tests() -> None:
    first, second = _first_block()[:2]
    assert README.read_text().find("```") < 1200, "the commands must open the README"
    # 1: install opskit (and the demo's peers) and run the main job on the simulated shop
    assert first == "bash install.sh && .venv/bin/opskit demo"
    # 2: the tests, exactly what CI runs
    assert second == "bash .ci/run"


def test_ci_installs_what_the_readme_installs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash install.sh --test --clear --venv" in ci
    assert "apt-get update" in ci
    assert "pytest" in ci
    install = (ROOT / "install.sh").read_text()
    assert "fake-switches==1.5.0" in install
    assert '-e ".[$extras]"' in install
    assert "-m venv" in install and "python3-venv" in install


def test_demo_test_runs_the_readme_main_job() -> None:
    demo_test = (ROOT / "tests" / "test_demo.py").read_text()
    assert 'run_opskit("demo"' in demo_test


def _readme_commands() -> set[tuple[str, ...]]:
    """`opskit GROUP CMD` pairs (and lone `opskit CMD`) named in README shell lines."""
    found: set[tuple[str, ...]] = set()
    fence: str | None = None  # the open code block's language ("" when none given)
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
            continue
        if fence is None:
            continue
        line = line.strip()
        if fence == "console" and not line.startswith("$ "):
            continue  # in a console block the commands are the "$ " lines, the rest output
        line = line.removeprefix("$ ")
        if not line.startswith("opskit "):
            continue
        try:
            words = shlex.split(re.split(r"\|\||&&|[|;>]", line)[0])
        except ValueError:
            continue
        words = [w for w in words[1:] if not w.startswith("-")]
        # drop the global -i PATH value when present
        if "-i" in line.split() or "--inventory" in line.split():
            words = words[1:]
        if not words:
            continue
        if words[0] in ("inventory", "backup", "monitor", "firmware"):
            sub = words[1:2]
            if words[1:2] == ["cable"] or words[1:2] == ["catalog"]:
                sub = words[1:3]
            found.add((words[0], *sub))
        else:
            found.add((words[0],))
    return found


def test_every_command_the_readme_shows_exists() -> None:
    commands = _readme_commands()
    assert ("backup", "run") in commands
    for command in sorted(commands):
        proc = run_opskit(*command, "--help", timeout=60)
        assert proc.returncode == 0, f"README shows 'opskit {' '.join(command)}': {proc.stderr}"
