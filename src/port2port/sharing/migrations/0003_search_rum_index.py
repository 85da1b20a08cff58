"""On PostgreSQL with the RUM extension (Debian: postgresql-15-rum), a RUM index ranks full-text
matches inside the index, so the first page of a search does not score every match. Without the
extension nothing changes: search ranks with ts_rank (slower on large corpora)."""

from django.db import migrations


def create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'rum'")
        if cursor.fetchone() is None:
            return
        cursor.execute("CREATE EXTENSION IF NOT EXISTS rum")
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS sharing_itemsearch_rum ON sharing_itemsearch "
            "USING rum (vector rum_tsvector_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS sharing_itemsearch_rum")


class Migration(migrations.Migration):
    dependencies = [("sharing", "0002_topics_and_search")]

    operations = [migrations.RunPython(create, drop)]
