"""Unit tests of fivestar.cells: one raw cell value → a typed value plus issue/warn codes.

In: Python values as calamine/openpyxl return them (str, int, float, bool, date,
datetime, None). Out: assertions on codes, numbers, rates, dates, periods, 是/否 and
resident-ID handling, following shared/spec/submission.md ("Cells, in every sheet").
"""

from __future__ import annotations

import datetime as dt

import pytest

from fivestar import cells

ID = "41052219900101123X"


# ---- blanks and text -------------------------------------------------------------
@pytest.mark.parametrize("v", [None, "", "   ", "\ufeff", " \ufeff ", "\u3000", "\u200b", float("nan")])
def test_blank_values(v: object) -> None:
    assert cells.is_blank(v)


@pytest.mark.parametrize("v", [0, 0.0, "0", "x", False, dt.date(2026, 1, 1)])
def test_non_blank_values(v: object) -> None:
    assert not cells.is_blank(v)


def test_clean_text_strips_bom_and_space() -> None:
    assert cells.clean_text("\ufeff 张三 \n") == "张三"
    assert cells.clean_text(None) == ""
    assert cells.clean_text(12.0) == "12"
    assert cells.clean_text(dt.datetime(2026, 11, 3)) == "2026-11-03"


@pytest.mark.parametrize(
    "header",
    [
        "三会一课完成率（%）",
        "三会一课完成率(%)",
        "三会一课完成率（％）",
        " 三会一课\n完成率 ( ％ ) ",
        "三会一课完成率(%)\r\n",
    ],
)
def test_normalise_header_tolerance(header: str) -> None:
    assert cells.normalise_header(header) == cells.normalise_header("三会一课完成率（%）")


def test_normalise_header_keeps_different_words_apart() -> None:
    assert cells.normalise_header("党员人数") != cells.normalise_header("党员参与率（%）")


# ---- codes ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (410522101201.0, "410522101201"),
        (410522101201, "410522101201"),
        (410522.0, "410522"),
        ("410522101201", "410522101201"),
        ("\ufeff410522101201", "410522101201"),
        ("  410522101201 \n", "410522101201"),
        ("４１０５２２１０１２０１", "410522101201"),
        ("'410522101201", "410522101201"),
        ("ZB01", "ZB01"),
        (" ＺＢ０１ ", "ZB01"),
        ("V04", "V04"),
    ],
)
def test_to_code(raw: object, code: str) -> None:
    assert cells.to_code(raw) == code


def test_to_code_never_uses_float_notation() -> None:
    # 12 digits as a float would print as 4.10522101201e+11 with str(); never so here.
    assert "e" not in cells.to_code(4.10522101201e11)
    assert cells.to_code(4.10522101201e11) == "410522101201"


def test_to_code_of_fraction_is_not_a_code() -> None:
    assert not cells.to_code(410522.5).isdigit()


# ---- numbers -------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "value"), [(95, 95.0), (95.0, 95.0), (0, 0.0), (-3, -3.0), (3.25, 3.25)])
def test_number_cells(raw: object, value: float) -> None:
    assert cells.parse_number(raw) == (value, None, None)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("95", 95.0),
        ("９５", 95.0),
        ("21,234", 21234.0),
        ("２１，２３４", 21234.0),
        ("1,234,567.5", 1234567.5),
        (" 3.5 ", 3.5),
        ("-3.5", -3.5),
        ("+7", 7.0),
        (".5", 0.5),
        ("\ufeff12", 12.0),
    ],
)
def test_text_numbers_are_read_with_a_warning(raw: str, value: float) -> None:
    assert cells.parse_number(raw) == (value, None, cells.TEXT_NUMBER)


@pytest.mark.parametrize(
    "raw", ["一百", "abc", "1,23", "12,3456", "1.2.3", "95分", "约95", "1e5", "--1", True]
)
def test_non_numbers(raw: object) -> None:
    value, issue, _ = cells.parse_number(raw)
    assert value is None
    assert issue == cells.NOT_NUMBER


@pytest.mark.parametrize("raw", ["#DIV/0!", "#N/A", "#VALUE!", "#REF!", "#NAME?", " #NUM! "])
def test_excel_error_values(raw: str) -> None:
    assert cells.parse_number(raw) == (None, cells.ERROR_VALUE, None)


def test_date_in_a_number_column_is_not_a_number() -> None:
    assert cells.parse_number(dt.date(2026, 11, 3))[1] == cells.NOT_NUMBER


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_blank_number(raw: object) -> None:
    assert cells.parse_number(raw) == (None, cells.BLANK, None)


def test_integers_versus_fractions() -> None:
    assert cells.parse_number(3.0, integer=True) == (3.0, None, None)
    assert cells.parse_number(3, integer=True) == (3.0, None, None)
    assert cells.parse_number(3.5, integer=True) == (3.5, cells.NOT_INTEGER, None)
    assert cells.parse_number("3", integer=True) == (3.0, None, cells.TEXT_NUMBER)
    assert cells.parse_number(" 3.5 ", integer=True) == (3.5, cells.NOT_INTEGER, cells.TEXT_NUMBER)
    assert cells.parse_number(3.5, integer=False) == (3.5, None, None)


# ---- rates ---------------------------------------------------------------------
def test_rate_in_percent_cell_is_times_100() -> None:
    x, issue, warn = cells.parse_rate(0.95, percent_cell=True)
    assert x == pytest.approx(95.0)
    assert (issue, warn) == (None, None)
    assert cells.parse_rate(1, percent_cell=True) == (100.0, None, None)


@pytest.mark.parametrize(
    ("raw", "value"), [("95%", 95.0), ("０.９％", 0.9), (" 95 % ", 95.0), ("100％", 100.0)]
)
def test_rate_text_with_percent_sign(raw: str, value: float) -> None:
    for pct in (False, True):
        x, issue, warn = cells.parse_rate(raw, percent_cell=pct)
        assert x == pytest.approx(value)
        assert (issue, warn) == (None, None)  # no ≤ 1 warning, no text-number warning


def test_rate_plain_number_means_itself() -> None:
    assert cells.parse_rate(95, percent_cell=False) == (95.0, None, None)
    assert cells.parse_rate(95.5, percent_cell=False) == (95.5, None, None)


def test_rate_decimal_in_general_cell_warns() -> None:
    assert cells.parse_rate(0.95, percent_cell=False) == (0.95, None, cells.PCT_DECIMAL)
    assert cells.parse_rate(1, percent_cell=False) == (1.0, None, cells.PCT_DECIMAL)


def test_rate_text_decimal_warns_as_percent_decimal() -> None:
    # '0.95' typed as text is a number at most 1 in a cell that is not %-formatted:
    # the more consequential warning (value probably 95) wins over 文本型数字.
    assert cells.parse_rate("0.95", percent_cell=False) == (0.95, None, cells.PCT_DECIMAL)
    assert cells.parse_rate("95", percent_cell=False) == (95.0, None, cells.TEXT_NUMBER)


def test_rate_problems() -> None:
    assert cells.parse_rate("abc%", percent_cell=False)[1] == cells.NOT_NUMBER
    assert cells.parse_rate("一百", percent_cell=False)[1] == cells.NOT_NUMBER
    assert cells.parse_rate("#DIV/0!", percent_cell=True)[1] == cells.ERROR_VALUE
    assert cells.parse_rate(None, percent_cell=True)[1] == cells.BLANK
    # Out-of-range values are returned as read; the range check is validation's job.
    assert cells.parse_rate(120, percent_cell=False) == (120.0, None, None)
    assert cells.parse_rate(-5, percent_cell=False) == (-5.0, None, None)


# ---- 是/否 ----------------------------------------------------------------------
def test_yesno() -> None:
    assert cells.parse_yesno("是") == (1.0, None)
    assert cells.parse_yesno(" 否 ") == (0.0, None)
    assert cells.parse_yesno(None) == (None, cells.BLANK)
    for bad in ("Y", "有", "yes", 1, True, "是的"):
        assert cells.parse_yesno(bad) == (None, cells.NOT_YESNO)


# ---- dates ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        dt.date(2026, 11, 3),
        dt.datetime(2026, 11, 3),
        dt.datetime(2026, 11, 3, 14, 30),
        "2026-11-03",
        "2026-11-3",
        "2026/11/3",
        "2026/11/03",
        "2026.11.03",
        "2026年11月3日",
        "2026年11月03日",
        "２０２６－１１－０３",
        " 2026-11-03 ",
        "2026-11-03 00:00:00",
        46329,  # Excel serial of 2026-11-03 in a cell without a date format
        46329.0,
    ],
)
def test_dates(raw: object) -> None:
    assert cells.parse_date(raw) == (dt.date(2026, 11, 3), None)


@pytest.mark.parametrize(
    "raw", ["2026-13-01", "2026-02-30", "11/03/2026", "3日", "明天", "2026-11", 46329.5, True]
)
def test_bad_dates(raw: object) -> None:
    assert cells.parse_date(raw) == (None, cells.BAD_DATE)


def test_blank_date() -> None:
    assert cells.parse_date(None) == (None, cells.BLANK)
    assert cells.parse_date(" ") == (None, cells.BLANK)


# ---- periods -------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        "2026-11",
        "2026/11",
        "2026年11月",
        "2026年11月份",
        " 2026-11 ",
        "２０２６年１１月",
        dt.date(2026, 11, 1),
        dt.datetime(2026, 11, 30),
        "2026-11-01",
    ],
)
def test_periods(raw: object) -> None:
    assert cells.parse_period(raw) == "2026-11"


def test_period_single_digit_month() -> None:
    assert cells.parse_period("2026年1月") == "2026-01"
    assert cells.parse_period("2026-1") == "2026-01"


@pytest.mark.parametrize(
    "raw", [None, "", "11月", "2026-13", "2026年0月", "202611", "明年", 2026.11, 2026.1, 202611]
)
def test_unreadable_periods(raw: object) -> None:
    # A number cell (2026.1 could be January or October) is not a period.
    assert cells.parse_period(raw) is None


# ---- e-mail and months -----------------------------------------------------------
def test_email() -> None:
    assert cells.is_email("county@example.org")
    assert cells.is_email(" a.b@c.gov.cn ")
    for bad in ("", None, "county", "a@b", "a b@c.org", "@c.org"):
        assert not cells.is_email(bad)


def test_month_bounds() -> None:
    assert cells.month_bounds("2026-11") == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert cells.month_bounds("2026-12") == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert cells.month_bounds("2028-02") == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))


# ---- resident IDs --------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [ID, ID.lower(), "410522199001011234", " 41052219900101123X ", "４１０５２２１９９００１０１１２３Ｘ"],
)
def test_resident_id_detected(raw: str) -> None:
    assert cells.is_resident_id(raw)


@pytest.mark.parametrize(
    "raw", ["DY0012", "H0345", "410522101201", "4105221990010112345", "41052219900101123Y", None]
)
def test_not_resident_id(raw: object) -> None:
    assert not cells.is_resident_id(raw)


def test_mask_format() -> None:
    assert cells.mask_id(ID) == "410522********123X"
    assert cells.mask_id(ID.lower()) == "410522********123X"
    assert cells.mask_id("410522199001011234") == "410522********1234"


def test_mask_ids_in_free_text() -> None:
    text = f"户主{ID}兑换；另一人410522199202021111。"
    masked = cells.mask_ids_in(text)
    assert ID not in masked and "410522199202021111" not in masked
    assert "410522********123X" in masked and "410522********1111" in masked
    # 12-digit branch codes and short numbers are left alone.
    assert cells.mask_ids_in("支部410522101201，21,234元") == "支部410522101201，21,234元"


def test_hash_is_stable_keyed_and_opaque() -> None:
    h1 = cells.hash_id(ID, "key-1")
    assert h1 == cells.hash_id(ID, "key-1")
    assert h1 == cells.hash_id(ID.lower(), "key-1")  # x and X are the same person
    assert h1 == cells.hash_id(f" {ID} ", "key-1")
    assert h1 != cells.hash_id(ID, "key-2")
    assert h1 != cells.hash_id("410522199001011234", "key-1")
    assert h1.startswith("IDH-")
    assert "410522" not in h1 and "123X" not in h1


@pytest.mark.parametrize("raw", [ID, f"对象{ID}", 410522199001011234, f"\ufeff{ID}"])
def test_display_never_shows_an_id(raw: object) -> None:
    shown = cells.display(raw)
    assert "19900101" not in shown
    assert "410522********" in shown


def test_display_of_ordinary_values() -> None:
    assert cells.display(None) == ""
    assert cells.display(95.0) == "95"
    assert cells.display(95.5) == "95.5"
    assert cells.display(410522101201.0) == "410522101201"
    assert cells.display(dt.datetime(2026, 11, 3)) == "2026-11-03"
    assert cells.display(dt.date(2026, 11, 3)) == "2026-11-03"
    assert cells.display("一百") == "一百"
