"""Shared test fixtures.

In: the environment (CI, FIVESTAR_TEST_POSTGRES_URL) and a local PostgreSQL server
(default postgresql+psycopg://postgres@127.0.0.1:5432/postgres, the maintenance DB).
Out:
- `warehouse_url`: parametrised over SQLite (a file under tmp_path, in a folder that
  does not exist yet) and PostgreSQL (a fresh schema per test inside a database created
  for the test module and dropped afterwards, so parallel runs never collide);
- `warehouse_engine`: an Engine on that URL with the schema applied;
- `config_dir`, `rulebook`: the repository's default configuration;
- FIVESTAR_ID_HASH_KEY set to TEST_ID_HASH_KEY for the whole session (autouse).
Without PostgreSQL the PostgreSQL cases are skipped, except with CI=true: then they fail.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url

from fivestar.config import Rulebook, load_rulebook

# Loopback SMTP sink and webhook receiver fixtures (smtp_sink, webhook): tests/servers.py.
pytest_plugins = ["servers"]

ROOT = Path(__file__).resolve().parents[1]
# Tests write their workbooks just before running: take files at once (production waits
# FIVESTAR_SETTLE_SECONDS, default 60 s, for a file to stop changing). Set for the whole
# session, so module-scoped fixtures and in-process runs see it; tests of the settle time
# and `fivestar` processes started with a cleaned environment set it themselves.
os.environ["FIVESTAR_SETTLE_SECONDS"] = "0"
# The machine's clock is past some test month's reminder stages: tests that are not about
# reminders (催报) get none, whatever the date; tests of reminders turn them on themselves.
os.environ["FIVESTAR_REMINDERS"] = "false"
PG_SERVER_URL = os.environ.get(
    "FIVESTAR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


# Runs on PostgreSQL or with e-mail refuse the built-in resident-ID hash key (settings.py):
# every test process uses this one instead (tests of that refusal unset it themselves).
TEST_ID_HASH_KEY = "fivestar-test-id-hash-key"


@pytest.fixture(scope="session", autouse=True)
def _id_hash_key() -> Iterator[None]:
    old = os.environ.get("FIVESTAR_ID_HASH_KEY")
    os.environ["FIVESTAR_ID_HASH_KEY"] = TEST_ID_HASH_KEY
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("FIVESTAR_ID_HASH_KEY", None)
        else:
            os.environ["FIVESTAR_ID_HASH_KEY"] = old


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs the PostgreSQL test server")
    config.addinivalue_line("markers", "prefect_server: starts a real Prefect server (slow)")
    config.addinivalue_line(
        "markers",
        "system: a system test (Prefect server, Dask, kill -9, LibreOffice, Chromium); tests/system/ and a few more",
    )


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


def _admin_engine() -> Engine:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    return create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})


@pytest.fixture(scope="module")
def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a PostgreSQL database created for this test module (dropped afterwards)."""
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as e:
        admin.dispose()
        where = make_url(PG_SERVER_URL).render_as_string(hide_password=True)
        msg = f"PostgreSQL is not reachable at {where}: {type(e).__name__}"
        if in_ci():
            pytest.fail(f"{msg} (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(msg)
    module = re.sub(r"[^a-z0-9]+", "_", request.module.__name__.rsplit(".", 1)[-1].lower())[:30]
    name = f"fs_{module}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A warehouse URL with nothing in it yet: SQLite file or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse' / 'warehouse.db'}"
        return
    db_url = request.getfixturevalue("pg_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        # search_path via libpq options: every connection of the engine lands in the schema.
        url = make_url(db_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        admin.dispose()


@pytest.fixture
def warehouse_engine(warehouse_url: str) -> Iterator[Engine]:
    """An Engine on `warehouse_url` with sql/*.sql applied."""
    from fivestar.warehouse import ensure_schema, make_engine

    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def config_dir() -> Path:
    return ROOT / "config"


@pytest.fixture(scope="session")
def rulebook(config_dir: Path) -> Rulebook:
    return load_rulebook(config_dir)


# ---------------------------------------------------------------- a tiny province
class TinyProvince:
    """Hand-made registry, submissions, facts and findings for warehouse tests.

    One province / city / two counties; county 410522 has three branches that submit
    (东村 and 西村 are 村, 南社区 is a 社区) and one registered branch that never does.
    Indicator values per branch are 'best' (full marks on every indicator) or 'worst'
    (zero on every indicator), derived from the rulebook's rules.
    """

    PROVINCE, CITY, COUNTY, OTHER_COUNTY = "410000", "410500", "410522", "410523"
    EAST, WEST, SOUTH, NORTH = "410522100001", "410522100002", "410522100003", "410522100004"
    OTHER_BRANCH = "410523100001"
    ROSTER = (
        (EAST, "东村党支部", "村", "城关镇"),
        (WEST, "西村党支部", "村", "城关镇"),
        (SOUTH, "南社区党支部", "社区", "桂园街道"),
    )
    QUALITY = {EAST: "best", WEST: "worst", SOUTH: "best"}

    def __init__(self, rb: Rulebook) -> None:
        self.rb = rb

    def registry(self):  # -> Registry
        import pandas as pd

        from fivestar.config import Registry

        rows = [
            (self.PROVINCE, "河南省", "province", "", "", ""),
            (self.CITY, "安阳市", "city", self.PROVINCE, "", ""),
            (self.COUNTY, "林州市", "county", self.CITY, "", ""),
            (self.OTHER_COUNTY, "汤阴县", "county", self.CITY, "", ""),
            *[(c, n, "branch", self.COUNTY, t, tw) for c, n, t, tw in self.ROSTER],
            (self.NORTH, "北村党支部", "branch", self.COUNTY, "村", "城关镇"),
            (self.OTHER_BRANCH, "汤村党支部", "branch", self.OTHER_COUNTY, "村", "城关镇"),
        ]
        regions = pd.DataFrame(
            rows, columns=["code", "name", "level", "parent_code", "branch_type", "township"]
        )
        subs = pd.DataFrame(columns=["county_code", "name", "email", "webhook_url"])
        return Registry(regions=regions, submitters=subs)

    def sub(self, period: str, version: int = 1, county: str | None = None, **extra):  # -> dict
        import datetime as dt

        county = county or self.COUNTY
        sha = f"{county}{period}{version}".ljust(64, "0")
        return {
            "county_code": county,
            "period": period,
            "version": version,
            "file_name": f"{county}_{period}_v{version}.xlsx",
            "file_sha256": sha,
            "archive_path": f"archive/{sha}.xlsx",
            "received_at": dt.datetime(int(period[:4]), int(period[5:7]), 20, 9, 30),
            "processed_at": dt.datetime(2030, 1, 1, 2, 0),
            "run_id": "test-run",
            "rulebook_hash": self.rb.hash,
            "county_name": "林州市",
            "submitter": "张三",
            "phone": "0372-1234567",
            "email": "zs@example.org",
            **extra,
        }

    def _value(self, rule: str, lo: str, hi: str, quality: str) -> float:
        lo_f = float(lo) if lo else 0.0
        hi_f = float(hi) if hi else 0.0
        best = {
            "linear": hi_f,
            "linear_ytd": hi_f,
            "at_least": lo_f,
            "zero": 0.0,
            "yes": 1.0,
            "no": 0.0,
            "per_month": lo_f,
        }
        worst = {
            "linear": lo_f,
            "linear_ytd": 0.0,
            "at_least": 0.0,
            "zero": 1.0,
            "yes": 0.0,
            "no": 1.0,
            "per_month": 0.0,
        }
        return (best if quality == "best" else worst)[rule]

    def facts(
        self,
        period: str,
        version: int = 1,
        quality: dict[str, str] | None = None,
        vetoes: tuple[tuple[str, str], ...] = ((SOUTH, "V01"),),
        members: int = 30,
    ):  # -> dict[str, DataFrame]
        import pandas as pd

        quality = {**self.QUALITY, **(quality or {})}
        key = {"county_code": self.COUNTY, "period": period, "version": version}
        roster = pd.DataFrame(
            [
                {**key, "branch_code": c, "branch_name": n, "branch_type": t, "township": tw,
                 "members": members, "households": 100, "secretary_name": "李四", "secretary_age": 45,
                 "sheet_row": i + 2}
                for i, (c, n, t, tw) in enumerate(self.ROSTER)
            ]
        )  # fmt: skip
        ind_rows = []
        for i, (code, _n, btype, _tw) in enumerate(self.ROSTER):
            spec = self.rb.indicator_sheet(btype)
            for j, r in enumerate(self.rb.indicators_for(btype).itertuples()):
                ind_rows.append(
                    {**key, "branch_code": code, "indicator_key": r.key,
                     "value": self._value(r.rule, r.lo, r.hi, quality[code]),
                     "sheet": spec.sheet, "sheet_row": i + 2, "cell": f"{chr(ord('C') + j)}{i + 2}"}
                )  # fmt: skip
        day = pd.Timestamp(f"{period}-05")
        events = [
            (self.EAST, "支部", self.EAST, "ZB01", 2.0),
            (self.EAST, "党员", "DY0001", "DY01", 1.0),
            (self.EAST, "党员", "DY0001", "DY01", 1.0),
            (self.EAST, "党员", "DY0001", "DY01", 1.0),  # beyond the cap of 2
            (self.EAST, "户", "H0001", "HH01", 2.0),
            (self.EAST, "户", "H0001", "DH01", -1.0),
            (self.SOUTH, "支部", self.SOUTH, "GJ01", 2.0),
        ]
        ledger = pd.DataFrame(
            [
                {**key, "seq": k + 2, "event_date": day, "branch_code": b, "subject_type": st,
                 "subject_id": sid, "item_code": item, "points": pts, "note": "", "sheet_row": k + 2}
                for k, (b, st, sid, item, pts) in enumerate(events)
            ]
        )  # fmt: skip
        ledger["event_date"] = pd.to_datetime(ledger["event_date"])
        veto_df = pd.DataFrame(
            [
                {**key, "seq": k + 2, "event_date": day, "branch_code": b, "veto_code": v, "note": "说明",
                 "sheet_row": k + 2}
                for k, (b, v) in enumerate(vetoes)
            ],
            columns=[*key, "seq", "event_date", "branch_code", "veto_code", "note", "sheet_row"],
        )  # fmt: skip
        veto_df["event_date"] = pd.to_datetime(veto_df["event_date"])
        explanations = pd.DataFrame([{**key, "location": "村指标!C2", "note": "已核实", "sheet_row": 2}])
        return {
            "roster": roster,
            "indicators": pd.DataFrame(ind_rows),
            "ledger": ledger,
            "vetoes": veto_df,
            "explanations": explanations,
        }

    def findings(self, errors: int = 0, warnings: int = 0):  # -> DataFrame
        from fivestar.findings import finding, make_findings

        recs = [
            finding("error", "roster.members.range", "党员人数不能少于3", sheet="支部名册", row=3,
                    column_name="党员人数", cell="E3", value="2", branch_code=self.WEST)
            for _ in range(errors)
        ] + [
            finding("warning", "village.rate.fraction", "疑似将百分比填为小数", sheet="村指标", row=2,
                    column_name="三会一课完成率（%）", cell="村指标!C2", value="0.95", branch_code=self.EAST)
            for _ in range(warnings)
        ]  # fmt: skip
        return make_findings(recs)


@pytest.fixture
def tiny(rulebook: Rulebook) -> TinyProvince:
    return TinyProvince(rulebook)
