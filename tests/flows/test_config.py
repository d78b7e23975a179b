"""Config loading: defaults, unknown keys, bad values, README documents every key."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.errors import ConfigError
from flows.config import KEY_HELP, SECTIONS, Settings, load_settings, settings_from_dict

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_defaults_and_relative_path(tmp_path):
    settings = load_settings(write(tmp_path, '[[feeds]]\nname = "a"\nurl = "https://a.org/feed"\n'))
    assert settings.fetch.max_bytes == 5_000_000
    assert settings.warehouse_path == tmp_path / "data" / "newswatch.duckdb"
    assert settings.enabled_feeds[0].name == "a"


def test_shipped_config_is_valid():
    settings = load_settings(ROOT / "newswatch.toml")
    assert len(settings.feeds) >= 10
    assert len({f.url for f in settings.feeds}) == len(settings.feeds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[fetch]\ntimeout = 3\n", "unknown config key fetch.timeout"),
        ("[fetchh]\n", "unknown config section [fetchh]"),
        ("[fetch]\nmax_bytes = 'big'\n", "fetch.max_bytes must be an integer"),
        ("[fetch]\nmax_bytes = 0\n", "fetch.max_bytes must be greater than 0"),
        ("[fetch]\nprivate_allowlist = ['not-an-ip']\n", "fetch.private_allowlist"),
        ('[[feeds]]\nname = "a"\n', "feeds"),
        ('[[feeds]]\nname = "a"\nurl = "x"\n', "must start with http"),
        ('[[feeds]]\nname = "a"\nurl = "http://a"\n[[feeds]]\nname = "a"\nurl = "http://b"\n', "appears twice"),
        ('[[feeds]]\nname = "a"\nurl = "http://a"\ncolour = 1\n', "unknown config key feeds.colour"),
        ("[fetch\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings(write(tmp_path, text))


def test_missing_file():
    with pytest.raises(ConfigError, match="not found"):
        load_settings("/nonexistent/newswatch.toml")


def test_every_key_has_help_and_is_in_readme():
    import dataclasses

    keys = {f"{s}.{f.name}" for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)}
    keys |= {"feeds.name", "feeds.url", "feeds.enabled"}
    assert keys == set(KEY_HELP)
    readme = (ROOT / "README.md").read_text()
    missing = [k for k in keys if f"`{k.split('.', 1)[1]}`" not in readme]
    assert not missing, f"README does not document: {missing}"


def test_settings_from_dict_defaults():
    assert isinstance(settings_from_dict({}), Settings)
