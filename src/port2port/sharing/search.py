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


_RUM: dict[str, bool] = {}


def _has_rum_index() -> bool:
    """Whether migration 0003 could create the RUM index (the extension is installed)."""
    key = connection.settings_dict["NAME"]
    if key not in _RUM:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'sharing_itemsearch_rum'")
            _RUM[key] = cursor.fetchone() is not None
    return _RUM[key]


# Both indexes can hand out the best matches first (PostgreSQL with the RUM index, SQLite's FTS5
# in C). A search looks at the best WINDOW matches of the
# whole platform and keeps those the viewer may see: for a word found in thousands of items the
# viewer gets the best of them (refining the words narrows the rest). When that leaves fewer than
# MIN_VISIBLE (a viewer who sees little, for a word found everywhere), the window grows eightfold,
# and past MAX_WINDOW every match is ranked, so that a viewer who sees few items never misses one.
WINDOW = 500
MIN_VISIBLE = 40
MAX_WINDOW = 32_000


def _best_first(queryset: QuerySet, best_sql: str, best_params: list, ranked: dict, order: tuple):
    """The window described above, grown while it holds more matches but too few for the viewer;
    past MAX_WINDOW every match is ranked, so nothing the viewer may see is ever missed."""
    from django.db.models import Case, IntegerField, Value, When

    size = WINDOW
    while size <= MAX_WINDOW:
        with connection.cursor() as cursor:
            cursor.execute(best_sql, [*best_params, size])
            ids = [row[0] for row in cursor.fetchall()]
        window = queryset.filter(pk__in=ids)
        every_match = len(ids) < size
        if every_match or window.order_by().count() >= MIN_VISIBLE:
            if connection.vendor == "postgresql":  # re-ranking the window through RUM is cheap
                return window.extra(**ranked).order_by(*order)
            # FTS5 would score every match again: order the window by its first-pass rank.
            position = Case(
                *[When(pk=pk, then=Value(n)) for n, pk in enumerate(ids)],
                output_field=IntegerField(),
            )
            return window.annotate(search_position=position).order_by("search_position")
        size *= 8
    return queryset.extra(**ranked).order_by(*order)


def matching(queryset: QuerySet, text: str) -> QuerySet:
    """Narrow an item queryset to the items matching `text`, best match first."""
    queryset = queryset.filter(search__isnull=False)
    if connection.vendor == "postgresql":
        tsquery = _pg_query_sql()
        params = [text] * len(_PG_CONFIGS)
        if _has_rum_index():  # ranked inside the index (RUM): the best matches come first, cheaply
            return _best_first(
                queryset,
                f"SELECT item_id FROM sharing_itemsearch WHERE vector @@ {tsquery} "  # noqa: S608
                f"ORDER BY vector <=> {tsquery} LIMIT %s",
                [*params, *params],
                {
                    "where": [f"sharing_itemsearch.vector @@ {tsquery}"],
                    "params": params,
                    "select": {"search_distance": f"sharing_itemsearch.vector <=> {tsquery}"},
                    "select_params": params,
                },
                ("search_distance", "-created_at"),
            )
        return queryset.extra(  # noqa: S610 - fixed SQL; the user's words are bound parameters
            where=[f"sharing_itemsearch.vector @@ {tsquery}"],
            params=params,
            select={"search_rank": f"ts_rank(sharing_itemsearch.vector, {tsquery})"},
            select_params=params,
        ).order_by("-search_rank", "-created_at")
    query = fts5_query(text)
    if not query:
        return queryset.none()
    return _best_first(  # FTS5 ranks every match in C; only the best WINDOW meet the rule
        queryset,
        "SELECT s.item_id FROM sharing_itemsearch_fts f JOIN sharing_itemsearch s ON s.id = f.rowid "
        "WHERE sharing_itemsearch_fts MATCH %s ORDER BY bm25(sharing_itemsearch_fts, 10.0, 1.0) LIMIT %s",
        [query],
        {
            "tables": ["sharing_itemsearch_fts"],
            "where": [
                "sharing_itemsearch_fts.rowid = sharing_itemsearch.id",
                "sharing_itemsearch_fts MATCH %s",
            ],
            "params": [query],
            "select": {"search_rank": "-bm25(sharing_itemsearch_fts, 10.0, 1.0)"},
        },
        ("-search_rank", "-created_at"),
    )


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
