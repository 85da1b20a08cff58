"""Seed the topic taxonomy; create the full-text index of the embedded or production database."""

from django.db import migrations

TOPICS = [
    "inspections",
    "access-control",
    "security-checks",
    "drones",
    "ai-cameras",
    "cyber",
    "training-awareness",
    "recruitment-corruption",
    "smuggling",
    "perimeter",
]

SQLITE = [
    "CREATE VIRTUAL TABLE sharing_itemsearch_fts USING fts5(title, body, content='sharing_itemsearch', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER sharing_itemsearch_ai AFTER INSERT ON sharing_itemsearch BEGIN "
    "INSERT INTO sharing_itemsearch_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER sharing_itemsearch_ad AFTER DELETE ON sharing_itemsearch BEGIN "
    "INSERT INTO sharing_itemsearch_fts(sharing_itemsearch_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER sharing_itemsearch_au AFTER UPDATE ON sharing_itemsearch BEGIN "
    "INSERT INTO sharing_itemsearch_fts(sharing_itemsearch_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO sharing_itemsearch_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS sharing_itemsearch_au",
    "DROP TRIGGER IF EXISTS sharing_itemsearch_ad",
    "DROP TRIGGER IF EXISTS sharing_itemsearch_ai",
    "DROP TABLE IF EXISTS sharing_itemsearch_fts",
]

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "ALTER TABLE sharing_itemsearch ADD COLUMN vector tsvector",
    "CREATE INDEX sharing_itemsearch_vector ON sharing_itemsearch USING gin (vector)",
    """
    CREATE FUNCTION sharing_itemsearch_vector() RETURNS trigger AS $$
    BEGIN
        NEW.vector :=
            setweight(to_tsvector('simple', unaccent(coalesce(NEW.title, ''))), 'A')
            || setweight(to_tsvector('simple', unaccent(coalesce(NEW.body, ''))), 'C')
            || setweight(to_tsvector(
                (CASE NEW.language WHEN 'nl' THEN 'dutch' WHEN 'fr' THEN 'french'
                 WHEN 'de' THEN 'german' ELSE 'english' END)::regconfig,
                coalesce(NEW.title, '') || ' ' || coalesce(NEW.body, '')), 'B');
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER sharing_itemsearch_vector BEFORE INSERT OR UPDATE ON sharing_itemsearch "
    "FOR EACH ROW EXECUTE FUNCTION sharing_itemsearch_vector()",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS sharing_itemsearch_vector ON sharing_itemsearch",
    "DROP FUNCTION IF EXISTS sharing_itemsearch_vector()",
    "DROP INDEX IF EXISTS sharing_itemsearch_vector",
    "ALTER TABLE sharing_itemsearch DROP COLUMN IF EXISTS vector",
]


def seed_topics(apps, schema_editor):
    Topic = apps.get_model("sharing", "Topic")
    for slug in TOPICS:
        Topic.objects.get_or_create(slug=slug)


def _run(statements):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for sql in statements.get(vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("sharing", "0001_initial")]

    operations = [
        migrations.RunPython(seed_topics, migrations.RunPython.noop),
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}),
        ),
    ]
