"""The decision records in docs/decisions/: every pointer names a record that is there, every record has its
header and sections, a replaced record names a later one, and the index lists each record once with its status."""

import re
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORDS = ROOT / "docs" / "decisions"
# `docs/decisions/0013-yunets-search-size.md` from the code, `decisions/0013-...md` from docs/ (a relative link)
POINTER = re.compile(r"\bdecisions/(\d{4}-[a-z0-9-]+\.md)")
RECORD_NAME = re.compile(r"\d{4}-[a-z0-9]+(?:-[a-z0-9]+)*\.md")
DATE = re.compile(r"- \*\*Date:\*\* (\d{4}-\d{2}-\d{2})( \(moved\b[^)]*\))?")
STATUS = re.compile(
    r"- \*\*Status:\*\* (Holds|Open|Retired: \S.*|Replaced by \[(\d{4}) ([^]]+)\]\((\d{4}-[a-z0-9-]+\.md)\))"
)
SECTIONS = ["## Question", "## Measured", "## Outcome"]
INDEX_LINE = re.compile(
    r"- \[(\d{4})\]\((\d{4}-[a-z0-9-]+\.md)\) (\d{4}-\d{2}-\d{2})( \(moved\))? (.+)"
    r" — (holds|open|retired|replaced by \d{4})"
)


def pointing_files(root=ROOT):
    """The files that may point at a record: the code, the tools, the tests, the README, docs and reports."""
    return [
        *sorted((root / "keypoints").rglob("*.py")),
        *sorted((root / "keypoints").rglob("*.md")),
        *sorted(path for path in (root / "tools").glob("*") if path.is_file()),
        *sorted((root / "tests").glob("*.py")),
        root / "README.md",
        *sorted((root / "docs").glob("*.md")),
        *sorted((root / "reports").rglob("*.md")),
        *sorted((root / "data").rglob("README*")),
        *[path for path in (root / "Makefile",) if path.is_file()],
    ]


def pointers(root=ROOT):
    """(file, record file name) for every pointer at a record."""
    found = []
    for path in pointing_files(root):
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [(path.relative_to(root), name) for name in POINTER.findall(text)]
    return found


def record_files(records=RECORDS):
    return sorted(path for path in records.glob("*.md") if path.name != "README.md")


def read_record(path):
    """The header fields and section headings of one record, or the problems that keep it from being read."""
    lines = path.read_text(encoding="utf-8").splitlines()
    problems = []
    if not RECORD_NAME.fullmatch(path.name):
        problems.append("the name is not NNNN-slug.md")
    if len(lines) < 6 or not lines[0].startswith("# ") or lines[1]:
        return None, problems + ["no '# Title' line first"]
    date_line, status_line, part_line = (DATE.fullmatch(lines[2]), STATUS.fullmatch(lines[3]), lines[4])
    if not date_line:
        problems.append(f"no '- **Date:** YYYY-MM-DD' line: {lines[2]!r}")
    if not status_line:
        problems.append(f"no '- **Status:**' line of a known kind: {lines[3]!r}")
    if not part_line.startswith("- **Part:** ") or not part_line[len("- **Part:** ") :].strip():
        problems.append(f"no '- **Part:**' line: {part_line!r}")
    headings = [line for line in lines if line.startswith("## ")]
    if headings != SECTIONS:
        problems.append(f"sections {headings}, expected {SECTIONS}")
    for heading, following in zip(SECTIONS, [*SECTIONS[1:], None]):
        if heading in lines:
            start = lines.index(heading) + 1
            end = lines.index(following) if following in lines else len(lines)
            if not any(line.strip() for line in lines[start:end]):
                problems.append(f"{heading} is empty (write 'Not recorded.')")
    if problems:
        return None, problems
    return {
        "title": lines[0][2:].strip(),
        "date": date.fromisoformat(date_line.group(1)),
        "moved": bool(date_line.group(2)),
        "status": status_line.group(1),
        "replaced_by": status_line.group(4),
        "replaced_by_number": status_line.group(2),
        "replaced_by_title": status_line.group(3),
        "part": part_line[len("- **Part:** ") :].strip(),
    }, []


def short_status(status):
    """The index's word for a record's status: holds, open, retired, replaced by NNNN."""
    if status.startswith("Replaced by ["):
        return "replaced by " + status[len("Replaced by [") :][:4]
    return status.split(":")[0].lower()


def records_and_problems(records=RECORDS):
    """{file name: fields} of the records that read, and the problems of those that do not."""
    read, problems = {}, []
    for path in record_files(records):
        fields, trouble = read_record(path)
        problems += [f"{path.name}: {text}" for text in trouble]
        if fields:
            read[path.name] = fields
    return read, problems


def replacement_problems(records):
    problems = []
    for name, fields in records.items():
        target = fields["replaced_by"]
        if target is None:
            continue
        if target not in records:
            problems.append(f"{name}: replaced by {target}, which is not a readable record")
        elif records[target]["date"] < fields["date"]:
            problems.append(f"{name}: replaced by {target}, dated before it")
        elif (fields["replaced_by_number"], fields["replaced_by_title"]) != (target[:4], records[target]["title"]):
            problems.append(f"{name}: its status names {target} by another number or title")
    return problems


def index_problems(records, index=RECORDS / "README.md"):
    """What the index gets wrong: a record listed twice or not at all, a missing file, a line that disagrees."""
    problems, listed, part = [], [], None
    for line in index.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            part = line[3:].strip()
        if not line.startswith("- ["):
            continue
        match = INDEX_LINE.fullmatch(line)
        if not match:
            problems.append(f"index line not '- [NNNN](NNNN-slug.md) DATE Title — status': {line!r}")
            continue
        number, name, day, moved, title, status = match.groups()
        listed.append(name)
        if not name.startswith(number):
            problems.append(f"{line!r}: the number is not the file's")
        if name not in records:
            problems.append(f"{line!r}: no such record (or it does not read)")
            continue
        fields = records[name]
        said = (day, bool(moved), title, status, part)
        status_now = short_status(fields["status"])
        has = (fields["date"].isoformat(), fields["moved"], fields["title"], status_now, fields["part"])
        if said != has:
            problems.append(f"{name}: the index says {said}, the record {has}")
    twice = sorted(name for name in set(listed) if listed.count(name) > 1)
    problems += [f"{name} is listed {listed.count(name)} times" for name in twice]
    problems += [f"{name} is not in the index" for name in sorted(set(records) - set(listed))]
    return problems


def test_every_pointer_names_a_record_that_is_there():
    found = pointers()
    assert len(found) >= 20  # the code keeps one line of why and points at the record for the figures
    missing = [f"{path}: {name}" for path, name in found if not (RECORDS / name).is_file()]
    assert not missing, "pointers to no record in docs/decisions/:\n" + "\n".join(missing)


def test_nothing_points_at_the_single_file_the_records_replaced():
    old = re.compile(r"(?<![\w/.-])(?:docs/)?decisions\.md")
    here = Path(__file__).resolve()
    stale = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in [*pointing_files(), *record_files(), RECORDS / "README.md"]
        if path.resolve() != here
        for match in old.finditer(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not stale, "pointers at the old single file:\n" + "\n".join(stale)


def test_every_record_has_its_header_and_three_sections():
    records, problems = records_and_problems()
    assert len(records) >= 20
    assert not problems, "\n".join(problems)
    numbers = sorted(int(name[:4]) for name in records)
    assert numbers == list(range(1, len(numbers) + 1)), "record numbers are not 1, 2, ... without gaps"


def test_a_replaced_record_names_a_later_record_that_is_there():
    records, _ = records_and_problems()
    problems = replacement_problems(records)
    assert not problems, "\n".join(problems)


def test_the_links_of_the_records_resolve():
    broken = []
    for path in [*record_files(), RECORDS / "README.md"]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            if not target.startswith(("http://", "https://")) and not (path.parent / target).exists():
                broken.append(f"{path.name}: {target}")
    assert not broken, "\n".join(broken)


def test_the_index_lists_every_record_once_with_its_status():
    records, _ = records_and_problems()
    problems = index_problems(records)
    assert not problems, "\n".join(problems)


def test_the_checks_find_what_is_wrong(tmp_path):
    good = (
        "# A choice\n\n- **Date:** 2026-12-03\n- **Status:** Holds\n- **Part:** Robustness\n\n"
        "## Question\n\nWhich?\n\n## Measured\n\nNot recorded.\n\n## Outcome\n\nThis one.\n"
    )
    (tmp_path / "0001-a-choice.md").write_text(good.replace("Holds", "Replaced by [0002 Later](0002-later.md)"))
    (tmp_path / "0002-later.md").write_text(good.replace("A choice", "Later").replace("12-03", "12-01"))
    (tmp_path / "0003-no-sections.md").write_text(good.split("## Question")[0])
    (tmp_path / "README.md").write_text(
        "# Decisions\n\n## Robustness\n\n"
        "- [0001](0001-a-choice.md) 2026-12-03 A choice — holds\n"
        "- [0001](0001-a-choice.md) 2026-12-03 A choice — replaced by 0002\n"
        "- [0004](0004-gone.md) 2026-12-03 Gone — holds\n"
    )
    records, problems = records_and_problems(tmp_path)
    assert problems == [f"0003-no-sections.md: sections [], expected {SECTIONS}"]
    assert replacement_problems(records) == ["0001-a-choice.md: replaced by 0002-later.md, dated before it"]
    assert index_problems(records, tmp_path / "README.md") == [
        "0001-a-choice.md: the index says ('2026-12-03', False, 'A choice', 'holds', 'Robustness'), the record "
        "('2026-12-03', False, 'A choice', 'replaced by 0002', 'Robustness')",
        "'- [0004](0004-gone.md) 2026-12-03 Gone — holds': no such record (or it does not read)",
        "0001-a-choice.md is listed 2 times",
        "0002-later.md is not in the index",
    ]
