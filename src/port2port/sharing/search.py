"""Full-text search of items: SQLite FTS5 on the embedded default, PostgreSQL full-text search in
production. Both indexes are kept by database triggers on `sharing_itemsearch` (see migrations);
this module only builds the query. Snippets come back with \\x02 … \\x03 around each hit.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import QuerySet

HIT_START, HIT_END = "\x02", "\x03"
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)
_PG_CONFIGS = ("simple", "english", "dutch", "french", "german")


def _pg_query_sql() -> str:
    """Words as written and without accents (simple), and stemmed in each of the four languages."""
    parts = ["websearch_to_tsquery('simple', unaccent(%s))"]
    parts += [f"websearch_to_tsquery('{c}', %s)" for c in _PG_CONFIGS if c != "simple"]
    return "(" + " || ".join(parts) + ")"


def fts5_query(text: str) -> str:
    """A safe FTS5 query: every word quoted (AND), the last one also as a prefix."""
    words = [w.replace('"', "") for w in _WORD.findall(text or "")][:12]
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] = f'"{words[-1]}"*'
    return " ".join(quoted)


def matching(queryset: QuerySet, text: str) -> QuerySet:
    """Narrow an item queryset to the items matching `text`, annotated with `search_rank`
    (higher is better) and ordered by it."""
    queryset = queryset.filter(search__isnull=False)
    if connection.vendor == "postgresql":
        tsquery = _pg_query_sql()
        params = [text] * len(_PG_CONFIGS)
        return queryset.extra(  # noqa: S610 - fixed SQL; the user's words are bound parameters
            where=[f"sharing_itemsearch.vector @@ {tsquery}"],
            params=params,
            select={"search_rank": f"ts_rank(sharing_itemsearch.vector, {tsquery})"},
            select_params=params,
        ).order_by("-search_rank", "-created_at")
    query = fts5_query(text)
    if not query:
        return queryset.none()
    return queryset.extra(
        tables=["sharing_itemsearch_fts"],
        where=[
            "sharing_itemsearch_fts.rowid = sharing_itemsearch.id",
            "sharing_itemsearch_fts MATCH %s",
        ],
        params=[query],
        select={"search_rank": "-bm25(sharing_itemsearch_fts, 10.0, 1.0)"},
    ).order_by("-search_rank", "-created_at")


def snippets(item_ids: list, text: str) -> dict:
    """A short extract per item around the hits (only for the page being shown)."""
    if not item_ids:
        return {}
    ids = [str(i) for i in item_ids]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tsquery = _pg_query_sql()
            options = (
                f"StartSel={HIT_START}, StopSel={HIT_END}, MaxFragments=2, MaxWords=24, MinWords=10"
            )
            cursor.execute(
                f"SELECT item_id, ts_headline('simple', unaccent(title || ' — ' || body), {tsquery}, %s) "  # noqa: S608 - fixed SQL, values are parameters
                "FROM sharing_itemsearch WHERE item_id::text = ANY(%s)",
                [*([text] * len(_PG_CONFIGS)), options, ids],
            )
        else:
            query = fts5_query(text)
            if not query:
                return {}
            placeholders = ",".join(["%s"] * len(ids))
            cursor.execute(
                "SELECT s.item_id, snippet(sharing_itemsearch_fts, -1, char(2), char(3), '…', 20) "  # noqa: S608 - placeholders only
                "FROM sharing_itemsearch_fts JOIN sharing_itemsearch s ON s.id = sharing_itemsearch_fts.rowid "
                f"WHERE sharing_itemsearch_fts MATCH %s AND s.item_id IN ({placeholders})",
                [query, *[i.replace("-", "") for i in ids]],
            )
        return {str(row[0]).replace("-", ""): row[1] for row in cursor.fetchall()}
