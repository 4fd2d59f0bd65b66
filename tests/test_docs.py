from pathlib import Path

import pytest

from frontdesk.settings import markdown_table

pytestmark = pytest.mark.unit

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_lists_every_setting_as_the_code_defines_it():
    text = README.read_text()
    start = text.index("<!-- settings-table:start -->") + len("<!-- settings-table:start -->")
    end = text.index("<!-- settings-table:end -->")
    assert text[start:end].strip() == markdown_table(), "run `python tools/readme_settings.py` to refresh README"
