"""Branch types as data (fivestar/config_types.py): the shipped tables, the organs example,
config folders of the old one-column-per-type layout, and configuration mistakes."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from fivestar.config import ConfigError, load_rulebook

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"
ORGANS = CONFIG / "examples" / "organs"

# The rulebook of rulebook.md, as the tables said it before branch types were data.
STARS = {
    "村": ["ZBGY", "CYXW", "STYJ", "PAFZ", "WMXF"],
    "社区": ["ZBGY", "GJGX", "PAFZ", "XFHX", "YYXY"],
}
VETOES = {
    ("V04", "社区"): None,
    ("V04", "村"): ["STYJ"],
    ("V05", "村"): ["PAFZ", "WMXF"],
    ("V05", "社区"): ["PAFZ", "XFHX"],
    ("V06", "社区"): STARS["社区"],
}


def test_the_shipped_configuration_is_the_rulebook() -> None:
    rb = load_rulebook(CONFIG)
    assert rb.types == ("村", "社区")
    assert [t.wording for t in rb.branch_types] == ["个村", "个城市社区"]
    assert {t: rb.stars_for(t) for t in rb.types} == STARS
    assert list(rb.stars["code"]) == ["ZBGY", "CYXW", "STYJ", "GJGX", "PAFZ", "WMXF", "XFHX", "YYXY"]
    assert {k: rb.vetoed_stars(*k) for k in VETOES} == VETOES
    assert (rb.item_star("WM01", "村"), rb.item_star("WM01", "社区")) == ("WMXF", "XFHX")
    assert rb.item_star("CY01", "社区") is None and not rb.item_applies("CY01", "社区")
    assert rb.item_applies("DH01", "村") and rb.item_applies("DH01", "社区")
    assert rb.items["code"].is_unique and len(rb.items) == 20
    assert list(rb.sheets) == [
        "roster", "village_indicators", "community_indicators", "ledger", "vetoes", "explanations"
    ]  # fmt: skip
    assert (rb.sheets["village_indicators"].sheet, rb.sheets["community_indicators"].sheet) == (
        "村指标",
        "社区指标",
    )
    assert rb.sheets["roster"].column("branch_type").choices == ("村", "社区")


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_the_organs_example_is_the_shipped_files_plus_organ_rows() -> None:
    """An overlay by file: the shipped rows unchanged, then 机关 rows only."""
    for f in sorted(ORGANS.glob("*.csv")):
        shipped, example = _rows(CONFIG / f.name), _rows(f)
        assert example[: len(shipped)] == shipped, f.name
        extra = example[len(shipped) :]
        col = shipped[0].index("name" if f.name == "branch_types.csv" else "branch_type")
        assert extra and all(r[col] == "机关" for r in extra), f.name


def test_the_organs_example_gives_organs_five_stars_of_their_own(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg"
    shutil.copytree(CONFIG, cfg, ignore=shutil.ignore_patterns("examples"))
    for f in ORGANS.glob("*.csv"):
        shutil.copyfile(f, cfg / f.name)
    rb, shipped = load_rulebook(cfg), load_rulebook(CONFIG)
    assert rb.types == ("村", "社区", "机关")
    organ = rb.stars_for("机关")
    assert len(organ) == 5 and organ[0] == "ZBGY"
    # Four indicators per star: the award threshold (80) needs 4 × 20 indicator points.
    assert rb.indicators_for("机关").groupby("star_code").size().to_dict() == dict.fromkeys(organ, 4)
    sheet = rb.indicator_sheet("机关")
    assert (sheet.name, sheet.sheet, sheet.required) == ("organ_indicators", "机关指标", False)
    assert rb.sheets["roster"].column("branch_type").choices == ("村", "社区", "机关")
    assert rb.vetoed_stars("V06", "机关") == organ and rb.vetoed_stars("V01", "机关") is None
    for t in shipped.types:  # the old types are untouched
        assert rb.stars_for(t) == shipped.stars_for(t)
        assert rb.indicators_for(t).equals(shipped.indicators_for(t))
        for code in shipped.items["code"]:
            assert rb.item_star(code, t) == shipped.item_star(code, t)
        for code in shipped.vetoes["code"]:
            assert rb.vetoed_stars(code, t) == shipped.vetoed_stars(code, t)


def _legacy(cfg: Path) -> None:
    """Rewrite cfg's tables in the layout before branch types were data (one column per type)."""
    rb = load_rulebook(cfg)
    keys = {t.name: t.key for t in rb.branch_types}
    stars = rb.stars.copy()
    for t, k in keys.items():
        stars[k] = stars["code"].isin(rb.stars_for(t)).map({True: "1", False: "0"})
    stars.to_csv(cfg / "stars.csv", index=False)
    items = rb.items[["code", "name", "subject_type", "points"]].copy()
    for t, k in keys.items():
        items[f"star_{k}"] = [rb.item_star(c, t) or "" for c in items["code"]]
    items[["cap", "kind"]] = rb.items[["cap", "kind"]]
    items.to_csv(cfg / "points_items.csv", index=False)
    vs = rb.veto_stars
    vetoes = rb.vetoes.copy()
    for t, k in keys.items():
        spec = dict(
            zip(
                vs.loc[vs["branch_type"] == t, "veto_code"],
                vs.loc[vs["branch_type"] == t, "stars"],
                strict=True,
            )
        )
        vetoes[f"stars_{k}"] = [spec.get(c, "") for c in vetoes["code"]]
    vetoes.to_csv(cfg / "vetoes.csv", index=False)
    wb = (cfg / "workbook.yaml").read_text(encoding="utf-8")
    sheets = "".join(
        f"  {t.sheet_key}:\n    sheet: {t.sheet}\n    required: true\n    branch_type: {t.name}\n"
        "    columns:\n      - {key: branch_code, header: 支部代码, type: code}\n"
        "      - {key: branch_name, header: 支部名称, type: text, optional: true}\n"
        for t in rb.branch_types
    )
    start = wb.index("  indicators:\n")
    end = wb.index("  ledger:\n")
    wb = wb[:start] + sheets + wb[end:]
    wb = wb.replace("choices_from: branch_types", f"choices: [{', '.join(rb.types)}]")
    (cfg / "workbook.yaml").write_text(wb, encoding="utf-8")
    (cfg / "branch_types.csv").unlink()


def test_a_config_folder_of_the_old_layout_reads_the_same(tmp_path: Path) -> None:
    cfg = tmp_path / "old"
    shutil.copytree(CONFIG, cfg, ignore=shutil.ignore_patterns("examples"))
    _legacy(cfg)
    assert "village" in pd.read_csv(cfg / "stars.csv").columns
    old, new = load_rulebook(cfg), load_rulebook(CONFIG)
    assert old.types == new.types
    assert [(s.name, s.sheet, s.branch_type, s.columns) for s in old.sheets.values()] == [
        (s.name, s.sheet, s.branch_type, s.columns) for s in new.sheets.values()
    ]
    assert old.stars.equals(new.stars) and old.items.equals(new.items) and old.vetoes.equals(new.vetoes)
    for t in new.types:
        assert old.stars_for(t) == new.stars_for(t)
        assert (
            old.item_stars[old.item_stars["branch_type"] == t]
            .reset_index(drop=True)
            .equals(new.item_stars[new.item_stars["branch_type"] == t].reset_index(drop=True))
        )
        for code in new.vetoes["code"]:
            assert old.vetoed_stars(code, t) == new.vetoed_stars(code, t)


@pytest.mark.parametrize(
    ("file", "edit", "words"),
    [
        ("stars.csv", lambda s: s + "ZBGY,支部过硬星,学校\n", "学校 not configured"),
        ("vetoes.csv", lambda s: s + "V01,发生较大及以上安全生产事故,企业,PAFZ\n", "企业 not configured"),
        (
            "points_items.csv",
            lambda s: s.replace(
                "ZB01,按期召开支部党员大会,支部,2,1,earn,社区", "ZB01,按期召开支部党员大会,支部,3,1,earn,社区"
            ),
            "ZB01 disagree",
        ),  # fmt: skip
        ("branch_types.csv", lambda s: s + "机关,Organ,机关指标,个机关,no\n", "key of lower-case letters"),
        ("branch_types.csv", lambda s: s + "机关,organ,村指标,个机关,no\n", "sheet repeated: 村指标"),
    ],
)
def test_a_configuration_mistake_names_the_file_and_the_problem(
    tmp_path: Path, file: str, edit, words: str
) -> None:
    cfg = tmp_path / "cfg"
    shutil.copytree(CONFIG, cfg, ignore=shutil.ignore_patterns("examples"))
    p = cfg / file
    p.write_text(edit(p.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rulebook(cfg)
    first, *_, last = words.split()
    assert file in str(err.value) and first in str(err.value) and last in str(err.value), err.value
