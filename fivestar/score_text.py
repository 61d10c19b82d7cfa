"""Numbers and reasons as people write them in ratings and changes.

In: scores, values and text parts (scalars, arrays or Series). Out: 四舍五入 rounding
(`round_half_up`), numbers with at most 2 decimals (`fmt_number`), scores with exactly 2
(`fixed2`), 是/否 answers (`yes_no`), reasons joined with "；" (`join_texts`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

YES, NO = 1.0, 0.0  # 是 / 否 as stored in the indicators frame
SEP = "；"


def round_half_up(x: Any, decimals: int = 2) -> Any:
    """Round half away from zero (as 四舍五入 / Excel ROUND), robust to float noise.

    Scores are sums of floats: 20 × 0.60025 + 50 is 62.004999999999995, and 2.675 is
    stored as 2.67499999…, so round() gives 62.0 and 2.67. Scaling first and snapping
    the scaled value to 6 decimals removes that noise before the half-up step (62.01, 2.68).
    Accepts a scalar, an array or a Series and returns the same kind.
    """
    scale = 10.0**decimals
    y = np.round(np.asarray(x, dtype=float) * scale, 6)
    r = np.sign(y) * np.floor(np.abs(y) + 0.5) / scale
    if isinstance(x, pd.Series):
        return pd.Series(r, index=x.index, name=x.name)
    if np.ndim(r) == 0:
        return float(r)
    return r


def fmt_number(x: Any, up: bool = False) -> pd.Series:
    """Numbers as people write them: at most 2 decimals, no trailing zeros (80, 12.5).

    Vectorised (numpy string ops) because hints are built for every branch × indicator ×
    month. up=True rounds *up* to 2 decimals: a target shown that way really suffices.
    NaN gives ''.
    """
    ser = x if isinstance(x, pd.Series) else pd.Series(x, dtype=float)
    arr = ser.to_numpy(dtype=float)
    r = np.ceil(np.round(arr * 100, 6)) / 100 if up else round_half_up(arr)
    text = np.char.rstrip(np.char.rstrip(np.char.mod("%.2f", r), "0"), ".")
    text[text == "-0"] = "0"
    text[np.isnan(arr)] = ""
    return pd.Series(text.astype(object), index=ser.index)


def fixed2(x: pd.Series) -> pd.Series:
    """Scores as shown in reasons: always 2 decimals (62.00)."""
    return pd.Series(np.char.mod("%.2f", x.to_numpy(dtype=float)).astype(object), index=x.index)


def yes_no(x: pd.Series) -> pd.Series:
    """是 / 否 for answers, the number otherwise."""
    return pd.Series(
        np.where(x == YES, "是", np.where(x == NO, "否", fmt_number(x))), index=x.index, dtype=object
    )


def empty_frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def join_texts(parts: list[pd.Series], sep: str = SEP) -> pd.Series:
    """Row-wise join of string Series, skipping empty parts (vectorised)."""
    out = parts[0].astype(str)
    for p in parts[1:]:
        p = p.astype(str)
        both = (out != "") & (p != "")
        out = out + pd.Series(np.where(both, sep, ""), index=out.index) + p
    return out
