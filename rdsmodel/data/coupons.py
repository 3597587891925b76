"""Resolve recruiters from coupon codes, reporting every oddity with its rows.

Used by :func:`rdsmodel.data.readers.read_coupons`. Real exports are messy;
this module never guesses silently:

* an issued column whose values do not look like coupon codes (free text,
  yes/no, small whole numbers, many repeats) is an error when the column was
  detected by name, a warning when the user listed it;
* a code listed twice for the same respondent is counted once (warning);
* a code issued to two respondents is a warning, and redeeming it is an
  error (``ambiguous_code``): the recruiter cannot be told;
* a code redeemed by two respondents is a warning (both link to the issuer);
* a redeemed code issued to nobody is an error, or per ``unmatched`` a seed
  or a dropped row (a warning each).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rdsmodel.data.validation import Context, Problem

__all__ = ["Matched", "match_coupons", "suspicious_reason"]

_YES_NO = {"yes", "no", "y", "n", "true", "false"}


@dataclass
class Matched:
    """Result of :func:`match_coupons`.

    Attributes
    ----------
    recruiters : pandas.Series
        Recruiter id per row (string, ``<NA>`` for seeds and unresolved rows).
    issued : pandas.Series
        ``Int64`` coupons issued per row (``<NA>`` for the frontier).
    problems : list of Problem
        Everything found, errors and warnings.
    drops : dict
        ``{row: reason}`` rows to drop (``unmatched="drop"``).
    """

    recruiters: pd.Series | None
    issued: pd.Series | None
    problems: list[Problem]
    drops: dict[int, str] = field(default_factory=dict)


def suspicious_reason(values: pd.Series) -> str | None:
    """Say why a column's values do not look like coupon codes, or ``None`` if they do.

    Coupon codes are unique identifiers, so a column is suspicious when most
    values contain spaces (free text), are yes/no answers, are whole numbers
    from 0 to 10 (a count), or repeat within the column.

    Parameters
    ----------
    values : pandas.Series
        The column as text (``<NA>`` for empty).

    Returns
    -------
    str or None
    """
    v = values.dropna()
    if len(v) == 0:
        return None
    examples = ", ".join(repr(str(x)) for x in pd.unique(v.to_numpy(dtype=object))[:3])
    if v.str.contains(r"\s", regex=True).mean() > 0.5:
        return f"most values are free text (e.g. {examples})"
    if v.str.lower().isin(_YES_NO).mean() > 0.5:
        return f"most values are yes/no answers (e.g. {examples})"
    numbers = pd.to_numeric(v, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    small = np.isfinite(numbers) & (numbers == np.round(numbers)) & (numbers >= 0) & (numbers <= 10)
    if len(v) >= 3 and small.mean() > 0.8:
        return f"most values are small whole numbers, like a count (e.g. {examples})"
    if len(v) >= 4 and v.duplicated(keep=False).mean() > 0.5:
        return f"most values repeat, but coupon codes are unique (e.g. {examples})"
    return None


def _shape(codes: pd.Series) -> pd.Series:
    """Letters as ``A``, digits as ``9``: ``"AB-1234"`` -> ``"AA-9999"``."""
    return codes.str.replace(r"[A-Za-z]", "A", regex=True).str.replace(r"\d", "9", regex=True)


def odd_column_reason(
    name: str, issued: Mapping[str, pd.Series], ids: pd.Series, redeemed: pd.Series
) -> str | None:
    """Say why issued column ``name``'s codes do not look like the other issued columns' codes.

    Compared with the codes of the other issued columns (at least five codes
    on each side): the shape of the codes (letters and digits, hence
    length), a prefix every code shares and the others do not have (unless
    the other columns have their own prefixes too), and whether the codes
    hold the respondent's own id while the others' do not. Whether the codes
    were ever redeemed is added as evidence; with a single other column it
    is required, since otherwise either column could be the odd one.

    Parameters
    ----------
    name : str
        The column to judge.
    issued : mapping of str to pandas.Series
        Every issued column as text (same index as ``ids``).
    ids, redeemed : pandas.Series
        Respondent ids and redeemed codes as text.

    Returns
    -------
    str or None
    """
    mine = issued[name]
    others = [v for k, v in issued.items() if k != name]
    if not others:
        return None
    present = mine.notna().to_numpy()
    codes = mine[present]
    rest = pd.concat([v.dropna() for v in others], ignore_index=True)
    if len(codes) < 5 or len(rest) < 5:
        return None
    reasons = []
    example = str(codes.iloc[0])
    rest_example = str(rest.iloc[0])
    shapes = _shape(rest).value_counts(normalize=True)
    common_shapes = set(shapes.index[shapes.cumsum().shift(fill_value=0) < 0.95])
    my_shapes = _shape(codes)
    if my_shapes.isin(common_shapes).mean() < 0.5:
        lengths = codes.str.len()
        rest_lengths = rest.str.len()
        if lengths.median() != rest_lengths.median():
            reasons.append(
                f"its codes are {int(lengths.median())} characters long (e.g. {example!r}), the other "
                f"coupon columns' {int(rest_lengths.median())} (e.g. {rest_example!r})"
            )
        else:
            reasons.append(
                f"its codes are written differently (e.g. {example!r}) from the other coupon "
                f"columns' (e.g. {rest_example!r})"
            )
    prefix = codes.str[:2]
    top = prefix.value_counts(normalize=True)
    # when every column has its own prefix (codes numbered by column), a prefix tells nothing
    own_prefix = any(
        v.dropna().str[:2].value_counts(normalize=True).iloc[0] >= 0.9
        for v in others
        if v.notna().sum() >= 5
    )
    if (
        len(top)
        and top.iloc[0] >= 0.9
        and not own_prefix
        and (rest.str[:2] == top.index[0]).mean() < 0.2
        and codes.str.len().min() > 2
    ):
        reasons.append(
            f"every code starts with {top.index[0]!r}, unlike the other coupon columns' codes"
        )
    own = ids[present].astype(object).to_numpy()
    text = codes.astype(object).to_numpy()
    holds_id = (
        np.array(
            [
                bool(i) and c != i and (c.endswith(i) or c.startswith(i))
                for c, i in zip(text, own, strict=True)
                if i is not None
            ]
        )
        if len(text)
        else np.array([])
    )
    if len(holds_id) and holds_id.mean() >= 0.8:
        rest_holds = []
        for v in others:
            has = v.notna().to_numpy()
            rest_holds += [
                bool(i) and c != i and (c.endswith(i) or c.startswith(i))
                for c, i in zip(v[has].astype(object), ids[has].astype(object), strict=True)
                if i is not None
            ]
        if not rest_holds or np.mean(rest_holds) < 0.2:
            at = int(np.argmax(holds_id))
            reasons.append(
                f"its codes hold the respondent's own id (e.g. {text[at]!r} on the row of id "
                f"{own[at]!r})"
            )
    if not reasons:
        return None
    taken = set(redeemed.dropna().tolist())
    used = codes.isin(taken).mean()
    rest_used = rest.isin(taken).mean()
    never = used == 0 and rest_used > 0
    if len(others) < 2 and not never:
        return None  # two columns that differ: which one is odd cannot be told
    if never:
        reasons.append(
            f"none of its {len(codes)} codes was redeemed ({rest_used:.0%} of the other columns' were)"
        )
    return "; ".join(reasons)


def _suspicious_columns(
    issued: Mapping[str, pd.Series],
    explicit: bool,
    ids: pd.Series | None = None,
    redeemed: pd.Series | None = None,
) -> list[Problem]:
    problems = []
    plain = {name: suspicious_reason(values) for name, values in issued.items()}
    for name in issued:
        reason = plain[name]
        if reason is None and ids is not None and redeemed is not None:
            fine = {k: v for k, v in issued.items() if plain[k] is None}
            odd = odd_column_reason(name, fine, ids, redeemed)
            if odd is not None:
                reason = f"its codes do not look like the other coupon columns' codes: {odd}"
        if reason is None:
            continue
        if explicit:
            problems.append(
                Problem(
                    "suspicious_coupon_column",
                    f"issued column {name!r} does not look like coupon codes: {reason}; it is used as you asked",
                    severity="warning",
                )
            )
        else:
            problems.append(
                Problem(
                    "suspicious_coupon_column",
                    f"issued column {name!r} does not look like coupon codes: {reason}. If it is not a coupon "
                    f"column, leave it out with --exclude-columns {name}; to use it anyway, list the coupon "
                    "columns with --issued-cols",
                )
            )
    return problems


def match_coupons(
    ctx: Context,
    ids: pd.Series,
    redeemed: pd.Series,
    issued: Mapping[str, pd.Series],
    *,
    redeemed_col: str,
    explicit: bool,
    unmatched: str,
    empty_issued: str,
) -> Matched:
    """Match redeemed codes to the respondents they were issued to.

    Parameters
    ----------
    ctx : Context
        Ids and row labels for messages.
    ids : pandas.Series
        Respondent ids as text.
    redeemed : pandas.Series
        Redeemed code per row as text (``<NA>`` for seeds).
    issued : mapping of str to pandas.Series
        Issued-code columns as text.
    redeemed_col : str
        Name of the redeemed column, for messages.
    explicit : bool
        Whether the user named the issued columns (suspicious columns then only warn).
    unmatched : {"error", "seed", "drop"}
        What to do with redeemed codes issued to nobody.
    empty_issued : {"frontier", "zero"}
        Coupons issued for a row with no issued code: missing (frontier) or 0.

    Returns
    -------
    Matched
    """
    problems = _suspicious_columns(issued, explicit, ids, redeemed)
    if any(p.is_error for p in problems):
        return Matched(None, None, problems)
    n = len(ids)
    m = len(issued)
    codes = (
        np.column_stack([v.to_numpy(dtype=object, na_value=None) for v in issued.values()])
        if m
        else np.empty((n, 0), dtype=object)
    )
    flat = codes.ravel()
    present = ~pd.isna(flat)
    long = pd.DataFrame(
        {
            "row": np.repeat(np.arange(n), m)[present],
            "code": pd.array(flat[present], dtype="string"),
        }
    )

    # the same code twice for one respondent: counted once
    twice = long.duplicated(["row", "code"], keep="first").to_numpy()
    for row, code in zip(
        long["row"].to_numpy()[twice], long["code"].to_numpy()[twice], strict=True
    ):
        problems.append(
            ctx.problem(
                "duplicate_code",
                f"{ctx.who(row)} lists issued code {code!r} more than once; it is counted once",
                [row],
                "warning",
            )
        )
    unique = long[~twice]
    count = np.bincount(unique["row"].to_numpy(), minlength=n)

    # codes issued to several respondents
    per_code = unique.groupby("code", sort=False)["row"]
    n_holders = per_code.transform("size").to_numpy()
    shared = unique[n_holders > 1]
    single = unique[n_holders == 1]
    red = redeemed.to_numpy(dtype=object, na_value=None)
    has_red = redeemed.notna().to_numpy()
    shared_codes = set(shared["code"].tolist())
    amb = has_red & redeemed.isin(shared_codes).to_numpy(dtype=bool, na_value=False)
    redeemers_of = (
        pd.Series(np.flatnonzero(amb)).groupby(red[amb]).agg(list).to_dict() if amb.any() else {}
    )
    for code, holders in shared.groupby("code", sort=False)["row"]:
        holders = holders.to_list()
        takers = redeemers_of.get(code, [])
        issued_to = ", ".join(ctx.who(h) for h in holders)
        taken = (
            f"; redeemed by {', '.join(ctx.who(t) for t in takers)}" if takers else "; not redeemed"
        )
        problems.append(
            ctx.problem(
                "duplicate_code",
                f"code {code!r} was issued to {len(holders)} respondents: {issued_to}{taken}",
                holders + takers,
                "warning",
            )
        )
    for row in np.flatnonzero(amb):
        problems.append(
            ctx.problem(
                "ambiguous_code",
                f"{ctx.who(row)} redeemed code {red[row]!r}, which was issued to several respondents, so its "
                "recruiter cannot be told; fix the export, or drop the rows concerned with --drop-warned",
                [row],
            )
        )

    # codes redeemed by several respondents
    again = has_red & redeemed.duplicated(keep=False).to_numpy()
    if again.any():
        for code, takers in pd.Series(np.flatnonzero(again)).groupby(red[again], sort=False):
            takers = takers.to_list()
            problems.append(
                ctx.problem(
                    "code_redeemed_twice",
                    f"code {code!r} was redeemed by {len(takers)} respondents: "
                    f"{', '.join(ctx.who(t) for t in takers)}",
                    takers,
                    "warning",
                )
            )

    # resolve recruiters
    holder = pd.Series(
        single["row"].to_numpy(), index=pd.Index(single["code"].to_numpy(dtype=object))
    )
    issuer = holder.reindex(pd.Index(red, dtype=object)).to_numpy(dtype=float, na_value=np.nan)
    matched = has_red & ~np.isnan(issuer) & ~amb
    nobody = has_red & np.isnan(issuer) & ~amb
    id_values = ids.to_numpy(dtype=object, na_value=None)
    recruiters = np.full(n, None, dtype=object)
    recruiters[matched] = id_values[issuer[matched].astype(np.int64)]
    drops: dict[int, str] = {}
    for row in np.flatnonzero(nobody):
        where = f"{ctx.who(row)} redeemed code {red[row]!r} (column {redeemed_col!r}), which was issued to nobody"
        if unmatched == "error":
            problems.append(
                ctx.problem(
                    "unmatched_code",
                    f"{where}; fix the export, or pass --unmatched seed to treat such respondents as seeds "
                    "or --unmatched drop to drop them",
                    [row],
                )
            )
        elif unmatched == "seed":
            problems.append(
                ctx.problem("unmatched_code", f"{where}; treated as a seed", [row], "warning")
            )
        else:
            problems.append(ctx.problem("unmatched_code", f"{where}; dropped", [row], "warning"))
            drops[int(row)] = f"redeemed code {red[row]!r} was issued to nobody"

    counts = pd.array(count.astype(np.int64), dtype="Int64")
    if empty_issued == "frontier":
        counts[count == 0] = pd.NA
    return Matched(
        recruiters=pd.Series(pd.array(recruiters, dtype="string"), index=ids.index),
        issued=pd.Series(counts, index=ids.index),
        problems=problems,
        drops=drops,
    )
