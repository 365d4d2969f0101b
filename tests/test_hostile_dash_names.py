"""A photo whose name starts with ``-``: the parser's error says how to pass it, and ``--`` passes it."""

import pytest
from hostile import photo

from keypoints.cli import main

HINT = (
    "-2+3.jpg is a file, but a name that starts with '-' reads as an option: put -- after the options, before the "
    "paths (keypoints predict [OPTIONS] -- -2+3.jpg), or write it as ./-2+3.jpg"
)


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    photo(tmp_path / "-2+3.jpg")
    photo(tmp_path / "plain.jpg")
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "argparse_says"),
    [
        (["predict", "-2+3.jpg", "--out", "out"], "the following arguments are required: PATH"),
        (["predict", "plain.jpg", "-2+3.jpg", "--out", "out"], "unrecognized arguments: -2+3.jpg"),
    ],
)
def test_the_error_says_how_to_pass_a_file_that_starts_with_a_dash(here, capsys, argv, argparse_says):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert f"{argparse_says}; {HINT}\n" in capsys.readouterr().err
    assert not (here / "out").exists()


@pytest.mark.parametrize("argv", [["predict", "--", "-2+3.jpg"], ["predict", "./-2+3.jpg"]])
def test_a_file_that_starts_with_a_dash_is_predicted_after_two_dashes_or_as_dot_slash(here, capsys, argv):
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("1 photo read, 0 faces found")
    assert (here / "results" / "-2+3.jpg").is_file()


def test_an_unknown_option_that_is_no_file_gets_no_hint(here, capsys):
    with pytest.raises(SystemExit):
        main(["predict", "plain.jpg", "--no-such-option"])
    err = capsys.readouterr().err
    assert "unrecognized arguments: --no-such-option\n" in err and "reads as an option" not in err
