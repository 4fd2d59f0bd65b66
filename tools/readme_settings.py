"""Refresh the configuration table in README.md from frontdesk/settings.py (the source)."""

from pathlib import Path

from frontdesk.settings import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"

text = README.read_text()
head, rest = text.split(START)
_, tail = rest.split(END)
README.write_text(f"{head}{START}\n{markdown_table()}\n{END}{tail}")
print("README settings table refreshed")
