"""The plugin contract: discovery through entry points, validation, failure isolation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from click.testing import CliRunner

from forensicloc import hookspecs
from forensicloc.api import Features, Scorer, ScoreTrack, parse_options
from forensicloc.cli import build_cli
from forensicloc.errors import PluginError, UnknownComponentError
from forensicloc.hookspecs import hookimpl
from forensicloc.plugins import get_component, registry, reset_plugins

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "forensicloc-example"


def make_distribution(site: Path, name: str, version: str, entry_points: dict[str, str]) -> None:
    """Write a minimal installed distribution (dist-info) into ``site``."""
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (dist / "entry_points.txt").write_text(f"[forensicloc]\n{lines}\n")


@pytest.fixture
def site(tmp_path, monkeypatch, fresh_plugins):
    """A temporary site directory on sys.path holding the example plugin's distribution."""
    site = tmp_path / "site"
    site.mkdir()
    make_distribution(site, "forensicloc-example", "0.1.0", {"example": "forensicloc_example"})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.delenv("FORENSICLOC_PLUGINS", raising=False)
    monkeypatch.delenv("FORENSICLOC_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    yield site
    for mod in [m for m in sys.modules if m.startswith(("forensicloc_example", "broken_plugin", "misspelt_plugin"))]:
        del sys.modules[mod]


def plugins_json(runner: CliRunner | None = None) -> dict:
    result = (runner or CliRunner()).invoke(build_cli(), ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


# --------------------------------------------------------------------------- one test per hook


def test_hook_register_scorers(site):
    cls = get_component("scorer", "change")
    assert registry("scorer").owner("change") == "example"
    features = Features({"visual": np.r_[np.zeros((20, 2)), np.ones((20, 2))].astype(np.float32)})
    track = cls().score(features)
    assert track.length == 40
    assert int(np.argmax(track.scores)) in range(17, 23)  # the jump is at snippet 20


def test_hook_register_proposers(site):
    proposer = get_component("proposer", "peaks")(width=0.4, min_score=0.5)
    scores = np.full(50, 0.1)
    scores[30] = 0.9
    segments = proposer.propose(ScoreTrack(scores, rate=25.0))
    assert len(segments) == 1
    assert segments[0].start == pytest.approx(30.5 / 25 - 0.2)
    assert segments[0].score == pytest.approx(0.9)


def test_hook_register_extractors(site, tiny_video):
    from forensicloc.media import MediaSource

    extractor = get_component("extractor", "mean-rgb")()
    features = extractor.extract(MediaSource(tiny_video(seconds=1.0, audio=False)))
    assert set(features.streams) == {"visual"}
    assert features.dims == extractor.dims()
    assert features.length == 25


def test_hook_register_datasets(site, tmp_path):
    from forensicloc.datasets import open_dataset

    root = tmp_path / "ds"
    root.mkdir()
    (root / "videos.csv").write_text("file,label,split\na.mp4,real,train\nb.mp4,fake,test\n")
    dataset = open_dataset(root)
    assert dataset.format == "csv-list"
    assert [(r.file, r.label, r.split) for r in dataset] == [("a.mp4", 0, "train"), ("b.mp4", 1, "test")]


def test_hook_register_commands(site):
    result = CliRunner().invoke(build_cli(), ["example-hello", "forensics"])
    assert result.exit_code == 0
    assert result.output.strip() == "hello, forensics"


def test_every_hook_has_a_test_and_a_guide_section():
    hooks = [name for name in dir(hookspecs) if name.startswith("register_")]
    assert len(hooks) == 5
    tests = {name for name in globals() if name.startswith("test_hook_")}
    guide = (ROOT / "CONTRIBUTING.md").read_text()
    for hook in hooks:
        assert f"test_hook_{hook}" in tests, f"hook {hook} has no test"
        assert re.search(rf"^#+ .*`{hook}`", guide, re.M), f"hook {hook} has no section in CONTRIBUTING.md"


def test_contributing_example_is_the_tested_code():
    guide = (ROOT / "CONTRIBUTING.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    source = (EXAMPLE / "forensicloc_example" / "__init__.py").read_text()
    assert source in blocks, "CONTRIBUTING.md must show forensicloc_example/__init__.py verbatim"
    toml = (EXAMPLE / "pyproject.toml").read_text()
    assert toml in re.findall(r"```toml\n(.*?)```", guide, re.S)


# --------------------------------------------------------------------------- discovery and listing


def test_plugins_json_lists_distribution_version_and_components(site):
    report = plugins_json()
    by_name = {p["name"]: p for p in report["plugins"]}
    example = by_name["example"]
    assert example["distribution"] == "forensicloc-example"
    assert example["version"] == "0.1.0"
    assert example["components"] == {
        "command": ["example-hello"],
        "dataset": ["csv-list"],
        "extractor": ["mean-rgb"],
        "proposer": ["peaks"],
        "scorer": ["change"],
    }
    assert by_name["forensicloc"]["distribution"] == "forensicloc"
    assert report["failed"] == []
    scorers = {c["name"]: c for c in report["components"]["scorer"]}
    assert scorers["change"]["supervision"] == "none"
    assert scorers["change"]["options"]["smooth"] == {"default": 5, "help": "moving-average width in snippets"}


def test_broken_plugin_is_listed_as_failed_and_others_still_load(site):
    (site / "broken_plugin.py").write_text("raise ImportError('needs libfoo')\n")
    make_distribution(site, "forensicloc-broken", "9.9", {"broken": "broken_plugin"})
    report = plugins_json()
    failed = {p["name"]: p for p in report["failed"]}
    assert "needs libfoo" in failed["broken"]["error"]
    assert failed["broken"]["distribution"] == "forensicloc-broken"
    assert "example" in {p["name"] for p in report["plugins"]}
    assert "change" in registry("scorer")


def test_misspelt_hook_fails_loudly_without_stopping_others(site):
    (site / "misspelt_plugin.py").write_text(
        "from forensicloc.hookspecs import hookimpl\n@hookimpl\ndef register_scorer(register):\n    pass\n"
    )
    make_distribution(site, "forensicloc-misspelt", "1.0", {"misspelt": "misspelt_plugin"})
    report = plugins_json()
    failed = {p["name"]: p for p in report["failed"]}
    assert "register_scorer" in failed["misspelt"]["error"]
    assert "change" in registry("scorer")


def test_rich_table_shows_plugins(site):
    result = CliRunner().invoke(build_cli(), ["plugins"])
    assert result.exit_code == 0
    assert "forensicloc-example" in result.output and "change" in result.output


def test_disable_autoload_keeps_only_builtins(site, monkeypatch):
    monkeypatch.setenv("FORENSICLOC_DISABLE_PLUGIN_AUTOLOAD", "1")
    names = {p["name"] for p in plugins_json()["plugins"]}
    assert "example" not in names and "forensicloc" in names


def test_plugins_env_selects_named_plugins(site, monkeypatch):
    monkeypatch.setenv("FORENSICLOC_PLUGINS", "example")
    names = {p["name"] for p in plugins_json()["plugins"]}
    assert "example" in names
    assert not names - {"example", "forensicloc"}
    monkeypatch.setenv("FORENSICLOC_PLUGINS", "")
    reset_plugins()  # forget what was loaded
    assert {p["name"] for p in plugins_json()["plugins"]} == {"forensicloc"}


def test_loading_is_lazy_and_idempotent(fresh_plugins):
    assert not fresh_plugins._loaded
    fresh_plugins.load()
    before = dict(fresh_plugins.infos)
    fresh_plugins.load()
    assert fresh_plugins.infos == before
    assert fresh_plugins.registry("proposer") is fresh_plugins.registry("proposer")


def test_help_and_plugins_do_not_import_torch_or_av():
    code = (
        "import sys\n"
        "from forensicloc.cli import main\n"
        "for args in (['--help'], ['plugins', '--json']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted(m for m in ('torch', 'av') if m in sys.modules)\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "HEAVY=" in out.stderr, out.stderr
    assert out.stderr.rsplit("HEAVY=", 1)[1].strip() == ""


def test_version_option():
    result = CliRunner().invoke(build_cli(), ["--version"])
    assert result.exit_code == 0 and "forensicloc" in result.output


# --------------------------------------------------------------------------- validation


@dataclass
class _Scorer(Scorer):
    name: ClassVar[str] = "dup"
    supervision: ClassVar[str] = "none"

    def score(self, features):
        return ScoreTrack(np.zeros(features.length))


def _plugin(*classes, kind="scorers"):
    module = types.ModuleType(f"plugin_{id(classes)}")

    def hook(register):
        for cls in classes:
            register(cls)

    hook.__name__ = f"register_{kind}"
    setattr(module, hook.__name__, hookimpl(hook))
    return module


def test_duplicate_name_is_rejected_naming_both_plugins(fresh_plugins, forensicloc_plugin):
    registry("scorer")
    forensicloc_plugin(_plugin(_Scorer), name="first")

    @dataclass
    class Other(_Scorer):
        pass

    with pytest.raises(PluginError, match=r"plugin 'second'.*'dup', already taken by plugin 'first'"):
        forensicloc_plugin(_plugin(Other), name="second")
    assert registry("scorer").get("dup") is _Scorer


def test_duplicate_found_while_building_a_registry_marks_plugin_failed(fresh_plugins, forensicloc_plugin):
    @dataclass
    class Other(_Scorer):
        pass

    forensicloc_plugin(_plugin(_Scorer), name="first")
    forensicloc_plugin(_plugin(Other), name="second")
    assert registry("scorer").get("dup") is _Scorer
    assert "already taken by plugin 'first'" in fresh_plugins.infos["second"].error


def test_class_not_satisfying_the_protocol_is_rejected(fresh_plugins, forensicloc_plugin):
    registry("scorer")

    class NotAScorer:
        name = "x"

    with pytest.raises(PluginError, match=r"plugin 'bad'.*not a subclass of forensicloc.api.Scorer"):
        forensicloc_plugin(_plugin(NotAScorer), name="bad")

    class NoScore(Scorer):
        name = "noscore"

    with pytest.raises(PluginError, match=r"does not implement score\(\)"):
        forensicloc_plugin(_plugin(NoScore), name="bad2")

    class BadSupervision(_Scorer):
        name = "badsup"
        supervision = "frame-level"

    with pytest.raises(PluginError, match="supervision='frame-level'"):
        forensicloc_plugin(_plugin(BadSupervision), name="bad3")
    assert "noscore" not in registry("scorer")


def test_misspelt_hook_in_a_registered_object_raises(fresh_plugins):
    module = types.ModuleType("oops")

    def register_scorer(register):
        pass

    module.register_scorer = hookimpl(register_scorer)
    with pytest.raises(PluginError, match="register_scorer"):
        fresh_plugins.register(module, name="oops")
    assert not fresh_plugins.pm.has_plugin("oops")


def test_unknown_component_lists_available(fresh_plugins, forensicloc_plugin):
    forensicloc_plugin(_plugin(_Scorer), name="first")
    with pytest.raises(UnknownComponentError, match=r"unknown scorer 'nope'; available: .*dup"):
        get_component("scorer", "nope")


def test_taken_command_name_is_an_error(fresh_plugins, forensicloc_plugin):
    import click

    module = types.ModuleType("cmds")

    def register_commands(cli):
        cli.add_command(click.Command("plugins"))

    module.register_commands = hookimpl(register_commands)
    forensicloc_plugin(module, name="cmds")
    with pytest.raises(PluginError, match=r"plugin 'cmds' added command 'plugins', which is already taken"):
        build_cli()


def test_unknown_scorer_on_the_cli_is_one_line_not_a_traceback(fresh_plugins):
    from forensicloc.cli import parse_component_options

    with pytest.raises(UnknownComponentError) as info:
        parse_component_options("scorer", "no-such-scorer", [])
    assert "unknown scorer 'no-such-scorer'; available:" in info.value.render()


def test_parse_options_types_and_misspelt_keys():
    @dataclass
    class Opts(_Scorer):
        alpha: float = 0.5
        layers: int = 2
        use_audio: bool = True
        sizes: tuple = (1, 2)

    parsed = parse_options(Opts, ["alpha=0.25", "layers=3", "use-audio=no", "sizes=[4, 5]"])
    assert parsed == {"alpha": 0.25, "layers": 3, "use_audio": False, "sizes": [4, 5]}
    with pytest.raises(ValueError, match="has no option 'alpah'; options: alpha, layers, sizes, use_audio"):
        parse_options(Opts, ["alpah=1"])
    with pytest.raises(ValueError, match="option layers"):
        parse_options(Opts, ["layers=many"])
