"""The GROMACS-topology preprocessor: includes, macros, conditionals, errors."""

import os
import textwrap

import pytest

from mdzoom.core.io import FileFormatError
from mdzoom.core.io.top_preprocessor import (include_search_dirs, parse_define_option,
                                             parse_include_option, preprocess)


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def texts(lines):
    return [line.text for line in lines]


def test_comments_blank_lines_and_continuations(tmp_path):
    top = write(tmp_path, "a.top", """\
        ; full comment
        [ atoms ]   ; trailing comment

        1 2 \\
          3 4
        last
        """)
    lines = preprocess(top)
    assert [lines[0].text, lines[2].text] == ["[ atoms ]", "last"]
    assert lines[1].text.split() == ["1", "2", "3", "4"]
    assert (lines[1].path, lines[1].lineno) == (str(top), 4)
    assert lines[2].lineno == 6


def test_include_relative_and_nested(tmp_path):
    write(tmp_path, "ff/forcefield.itp", '#include "nb.itp"\nff-line\n')
    write(tmp_path, "ff/nb.itp", "nb-line\n")
    top = write(tmp_path, "topol.top", '#include "ff/forcefield.itp"\n'
                                       "#include <ff/nb.itp>\ntop-line\n")
    files = []
    lines = preprocess(top, files=files)
    assert texts(lines) == ["nb-line", "ff-line", "nb-line", "top-line"]
    assert lines[0].path == str(tmp_path / "ff" / "nb.itp") and lines[0].lineno == 1
    assert files[0] == str(top) and len(files) == 3


def test_include_dirs_then_gmxlib_then_gmxdata(tmp_path, monkeypatch):
    for d in ("inc", "lib", "data/top"):
        write(tmp_path, f"{d}/where.itp", f"from {d}\n")
    top = write(tmp_path, "sub/topol.top", '#include "where.itp"\n')
    monkeypatch.setenv("GMXLIB", str(tmp_path / "lib"))
    monkeypatch.setenv("GMXDATA", str(tmp_path / "data"))
    assert texts(preprocess(top, include_dirs=[tmp_path / "inc"])) == ["from inc"]
    assert texts(preprocess(top)) == ["from lib"]
    monkeypatch.delenv("GMXLIB")
    assert texts(preprocess(top)) == ["from data/top"]
    # the including file's own directory comes first
    write(tmp_path, "sub/where.itp", "from own dir\n")
    assert texts(preprocess(top, include_dirs=[tmp_path / "inc"])) == ["from own dir"]


def test_search_dirs_order(tmp_path, monkeypatch):
    monkeypatch.setenv("GMXLIB", os.pathsep.join(["/x1", "/x2"]))
    monkeypatch.setenv("GMXDATA", "/gd")
    dirs = include_search_dirs(["/inc"])
    assert dirs[:5] == ["/inc", "/x1", "/x2", "/gd/top", "/gd/gromacs/top"]


def test_missing_include_lists_searched_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("GMXLIB", str(tmp_path / "lib"))
    top = write(tmp_path, "topol.top", "x\n\n#include \"nothere.itp\"\n")
    with pytest.raises(FileFormatError) as err:
        preprocess(top, include_dirs=["/some/inc"])
    msg = str(err.value)
    assert msg.startswith(f"{top}:3:")
    assert "nothere.itp" in msg and "/some/inc" in msg and str(tmp_path / "lib") in msg


def test_define_as_parameter_value_whole_word(tmp_path):
    top = write(tmp_path, "a.top", """\
        #define gb_1 0.1000 1.5700e+07
        #define NESTED gb_1 9
        1 2 2 gb_1
        1 2 2 gb_10 NESTED
        """)
    assert texts(preprocess(top)) == ["1 2 2 0.1000 1.5700e+07",
                                      "1 2 2 gb_10 0.1000 1.5700e+07 9"]


def test_ifdef_else_nested_and_undef(tmp_path):
    top = write(tmp_path, "a.top", """\
        #ifdef A
          a
          #ifndef B
            a-not-b
          #else
            a-b
          #endif
        #else
          not-a
          #ifdef B
            never
          #endif
        #endif
        #define C
        #undef C
        #ifdef C
          c
        #endif
        """)
    assert texts(preprocess(top)) == ["not-a"]
    assert texts(preprocess(top, defines={"A": ""})) == ["a", "a-not-b"]
    assert texts(preprocess(top, defines=["A", "B"])) == ["a", "a-b"]
    # the mdp 'define' string form
    assert texts(preprocess(top, defines="-DA -DB")) == ["a", "a-b"]


def test_defines_argument_is_not_modified(tmp_path):
    top = write(tmp_path, "a.top", "#define X 1\n#undef Y\nX\n")
    defines = {"Y": ""}
    assert texts(preprocess(top, defines=defines)) == ["1"]
    assert defines == {"Y": ""}


def test_mdp_define_and_include_options():
    assert parse_define_option("-DPOSRES -DFLEXIBLE -DX=2 -I/x") == {
        "POSRES": "", "FLEXIBLE": "", "X": "2"}
    assert parse_include_option("-I/a -I../b -DZ") == ["/a", "../b"]


@pytest.mark.parametrize("text, line, words", [
    ("a\n#ifdef X\nb\n", 2, "unterminated #ifdef"),
    ("#ifndef X\n#ifdef Y\n#endif\n", 1, "unterminated #ifndef"),
    ("a\n#else\n", 2, "#else without"),
    ("#endif\n", 1, "#endif without"),
    ("#ifdef X\n#else\n#else\n#endif\n", 3, "second #else"),
    ("\n#pragma once\n", 2, "unknown preprocessor directive '#pragma'"),
    ("#include nothing\n", 1, "expected '#include"),
    ("#define\n", 1, "#define NAME"),
])
def test_errors_point_at_the_line(tmp_path, text, line, words):
    top = write(tmp_path, "bad.top", text)
    with pytest.raises(FileFormatError) as err:
        preprocess(top)
    assert err.value.path == str(top) and err.value.line == line
    assert words in str(err.value)
    assert str(err.value).startswith(f"{top}:{line}:")


def test_unterminated_ifdef_in_included_file(tmp_path):
    write(tmp_path, "inc.itp", "x\n#ifdef POSRES\n")
    top = write(tmp_path, "a.top", '#include "inc.itp"\n')
    with pytest.raises(FileFormatError) as err:
        preprocess(top)
    assert err.value.path == str(tmp_path / "inc.itp") and err.value.line == 2


def test_recursive_include_is_an_error(tmp_path):
    top = write(tmp_path, "a.top", '#include "a.top"\n')
    with pytest.raises(FileFormatError, match="recursive include"):
        preprocess(top)
