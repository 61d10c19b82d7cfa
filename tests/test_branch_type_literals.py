"""Branch types are configuration (config/branch_types.csv), never code.

No string literal in fivestar/ or flows/ and no SQL outside comments in sql/ may name a branch type
of the shipped configuration (村, 社区) or of the shipped example (机关). What is allowed,
and why:
- config/ (the configuration itself, the example under config/examples/), tests/, docs,
  README and expectations/ (generated from config/ by `python -m fivestar.validate.suites`);
- fivestar/sample/names.py: the sample's name lists (东王庄村, 幸福路社区, 县财政局机关) and
  which kind of branch it invents where;
- docstrings and comments (documentation), SQL `--` comments and the column descriptions
  of sql/views/*.yml;
- fivestar/warehouse/migrations/: released schema revisions are history, never edited.
A word that merely contains the character (村集体经济收入, 农村) is fine: the check looks
for the type names as whole literals or as the quoted or listed words code would build
a rule on (`== "村"`, `("村", "社区")`, `"个村"`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {ROOT / "fivestar" / "sample" / "names.py"}
SKIP_DIRS = (ROOT / "fivestar" / "warehouse" / "migrations",)
TYPES = ("村", "社区", "机关")
# A type name standing alone in a literal, or as a word a rule is built on: "村", "个村",
# "村/社区", "（村）", "村、社区", "“村”".
_WORD = re.compile(r"(?:^|[\s/、，,（(“\"'|]|个|个城市)(" + "|".join(TYPES) + r")(?=$|[\s/、，,）)”\"'|])")


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def python_hits(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        literal = isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
        if literal and (node.value in TYPES or _WORD.search(node.value)):
            hits.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}")
    return hits


def sql_hits(path: Path) -> list[str]:
    hits = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        code = line.split("--", 1)[0]
        if any(t in code for t in TYPES):
            hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:60]}")
    return hits


def test_the_word_finder_sees_rules_built_on_a_type_and_not_ordinary_words() -> None:
    for s in ("村", "个城市社区", "村/社区", "适用星（村）", "村、社区", "类型只能填“村”"):
        assert s in TYPES or _WORD.search(s), s
    for s in ("村集体经济收入（万元）", "是否修订村规民约", "农村", "XX村党支部", "县财政局机关党委"):
        assert not _WORD.search(s), s


def test_no_branch_type_literal_in_code_or_sql() -> None:
    hits: list[str] = []
    for path in sorted([*(ROOT / "fivestar").rglob("*.py"), *(ROOT / "flows").rglob("*.py")]):
        if path in ALLOWED or any(d in path.parents for d in SKIP_DIRS):
            continue
        hits += python_hits(path)
    for path in sorted((ROOT / "sql").rglob("*.sql")):
        hits += sql_hits(path)
    assert not hits, "branch type names belong in config/branch_types.csv:\n" + "\n".join(hits)
