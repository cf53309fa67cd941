import csv
import io

import pytest

from istv_portal.spreadsheet import EchoBuffer, neutralise, neutralise_cell


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r", "\n", "\0"])
def test_formula_and_control_prefixes_are_neutralised(prefix):
    assert neutralise(f"{prefix}SUM(A1)") == f"'{prefix}SUM(A1)"


def test_plain_text_none_and_numbers_as_text():
    assert neutralise("Rye Lane") == "Rye Lane"
    assert neutralise("") == ""
    assert neutralise_cell(None) == ""
    assert neutralise_cell(-5) == "'-5"
    assert neutralise_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'


def test_echo_buffer_streams_one_csv_line_at_a_time():
    line = csv.writer(EchoBuffer()).writerow(["a", neutralise_cell("=1+1")])
    assert list(csv.reader(io.StringIO(line))) == [["a", "'=1+1"]]
