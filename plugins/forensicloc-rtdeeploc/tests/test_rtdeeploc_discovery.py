"""Discovery: the scorers come through the plugin's entry point, without torch."""

import subprocess
import sys

from forensicloc.plugins import registry


def test_scorers_registered_through_the_entry_point():
    scorers = registry("scorer")
    assert "mae" in scorers and "rtdeeploc" in scorers
    assert scorers.owner("mae") == "rtdeeploc"
    assert scorers.owner("rtdeeploc") == "rtdeeploc"
    assert scorers.get("mae").supervision == "real-only"
    assert scorers.get("rtdeeploc").supervision == "video-level"


def test_discovery_does_not_import_torch():
    code = (
        "import sys\n"
        "from forensicloc.plugins import registry\n"
        "registry('scorer').get('rtdeeploc')\n"
        "assert 'torch' not in sys.modules, 'torch imported by discovery'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
