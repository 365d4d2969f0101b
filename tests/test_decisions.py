"""Every pointer from the code, the README and the other docs to docs/decisions.md names a section that is there."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DECISIONS = ROOT / "docs" / "decisions.md"
# `docs/decisions.md, "Title"`, or from docs/: `[decisions.md](decisions.md), "Title"`
POINTER = re.compile(r'decisions\.md\)?,\s+"([^"]+)"')


def section_titles():
    """The titles of the dated sections (``## 2026-11-29: Title``), date left out."""
    titles = set()
    for line in DECISIONS.read_text(encoding="utf-8").splitlines():
        match = re.match(r"#{2,4} (?:\d{4}-\d{2}-\d{2}(?: \(moved\))?: )?(.+)", line)
        if match:
            titles.add(match.group(1).strip())
    return titles


def pointers():
    """(file, title) for every pointer, a title broken over lines (and comment markers) joined."""
    found = []
    docs = [path for path in sorted((ROOT / "docs").glob("*.md")) if path != DECISIONS]
    for path in [
        *sorted((ROOT / "keypoints").rglob("*.py")),
        ROOT / "README.md",
        *docs,
        *sorted((ROOT / "tools").glob("*")),
    ]:
        text = re.sub(r"\s*\n\s*(?:#\s*)?", " ", path.read_text(encoding="utf-8", errors="replace"))
        found += [(path.relative_to(ROOT), " ".join(title.split())) for title in POINTER.findall(text)]
    return found


def test_the_code_points_at_decisions_that_are_written_down():
    titles = section_titles()
    assert len(pointers()) >= 20  # the code keeps one line of why and points here for the figures
    missing = [f"{path}: {title!r}" for path, title in pointers() if title not in titles]
    assert not missing, "pointers to no section of docs/decisions.md:\n" + "\n".join(missing)
