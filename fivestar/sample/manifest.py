"""The manifest of a generated sample: what each file should produce when ingested.

In: built by the generator. Out: `manifest.json` in the output folder (paths relative
to it, so the folder can be moved) and the `Manifest` dataclass, loadable again with
`Manifest.load(path)`. Tests of ingest and validation compare their findings and
submission statuses against it.

Every injected problem is an `Issue` naming the severity, the sheet (Chinese name),
the cell (`F12`, empty for a whole-file, whole-sheet or whole-column finding), the
Excel row, the column header, the value as written and the rule. A rejected file may
produce further, consequential errors (a duplicated row also unbalances a count);
an accepted or accepted_with_warnings file produces exactly the listed warnings.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATUSES = ("accepted", "accepted_with_warnings", "rejected")


@dataclass(frozen=True)
class Issue:
    severity: str  # error | warning
    sheet: str  # Chinese sheet name; '' for a whole-file finding
    cell: str  # 'F12'; '' for a whole-file, sheet, column or county-wide finding
    row: int | None  # Excel row number, None when there is no cell
    column: str  # header text as in config (cover: the label); '' when none
    value: str  # the value as written ('' for blank)
    rule: str  # stable id of the injected problem, e.g. 'rate_fraction'
    description: str  # what the validator should say, in brief
    branch_code: str = ""
    explained: bool = False  # a 情况说明 row covers it

    @property
    def location(self) -> str:
        return f"{self.sheet}!{self.cell}" if self.cell else self.sheet


@dataclass(frozen=True)
class FileEntry:
    county_code: str
    county_name: str
    period: str
    path: str  # relative to the manifest's folder, '/'-separated
    expected_status: str
    issues: tuple[Issue, ...] = ()
    variations: tuple[str, ...] = ()  # harmless layout/style choices worth knowing

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]


@dataclass
class Manifest:
    seed: int
    period: str
    periods: list[str]
    counties: list[dict[str, Any]]
    files: list[FileEntry] = field(default_factory=list)
    config_dir: str = "config"
    raw_dir: str = "raw"
    root: Path | None = None  # folder the relative paths refer to (not serialised)

    def path_of(self, entry: FileEntry) -> Path:
        return (self.root or Path(".")) / entry.path

    def by_status(self, status: str) -> list[FileEntry]:
        return [f for f in self.files if f.expected_status == status]

    def summary(self) -> dict[str, int]:
        return {s: len(self.by_status(s)) for s in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("root")
        d["summary"] = self.summary()
        return d

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        path = Path(path)
        d = json.loads(path.read_text(encoding="utf-8"))
        d.pop("summary", None)
        files = [
            FileEntry(
                **{
                    **f,
                    "issues": tuple(Issue(**i) for i in f["issues"]),
                    "variations": tuple(f["variations"]),
                }
            )
            for f in d.pop("files")
        ]
        return cls(**d, files=files, root=path.parent)
