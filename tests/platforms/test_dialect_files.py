"""The lab's dialect files and the platform summary: every dialect loads and means what
its platform file says; bad files fail naming themselves; the doctests run."""

from __future__ import annotations

import doctest

import pytest

import opskit.lab.dialect
import opskit.platforms.summary
from opskit.lab.dialect import DialectError, dialect_names, load_dialect, parse_dialect
from opskit.platforms import backup_profile


@pytest.mark.parametrize("platform", dialect_names())
def test_every_dialect_plants_secrets_its_platform_file_scrubs(platform: str) -> None:
    from opskit.platforms.clean import prepare

    d = load_dialect(platform)
    profile = backup_profile(platform)
    assert profile is not None
    assert d.version and d.secrets
    text = d.render(d.config) + "".join(d.files.values())
    for secret in d.secrets:
        assert secret in text, f"{platform}: secret {secret!r} is not planted"
    stored = prepare(text, profile)
    leaked = [s for s in d.secrets if s in stored]
    assert leaked == []


def test_random_tokens_are_fresh_on_every_read() -> None:
    d = load_dialect("fortinet")
    assert d.render(d.config) != d.render(d.config)  # ENC values re-salted
    assert "{{" not in d.render(d.config)


def test_a_bad_dialect_names_its_file() -> None:
    with pytest.raises(DialectError, match=r"x\.yaml: no 'config'"):
        parse_dialect("x", {"modes": {}}, "x.yaml")
    with pytest.raises(DialectError, match="names mode 'enable'"):
        parse_dialect(
            "x", {"config": "", "commands": [{"match": "en", "enable": "enable"}]}, "x.yaml"
        )
    with pytest.raises(DialectError, match="bad regex"):
        parse_dialect("x", {"config": "", "commands": [{"match": "("}]}, "x.yaml")
    with pytest.raises(DialectError, match="no dialect for platform 'nope'"):
        load_dialect("nope")


@pytest.mark.parametrize("module", [opskit.lab.dialect, opskit.platforms.summary])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
