"""Create the HNSW index for the configured vector size.

The size depends on the configured model, so it is read from HELPDESK settings when the migration
runs; a later change of model gets its index from the embedding task (`helpdesk.vectors.ensure_index`).
"""

from django.db import migrations


def create_index(apps, schema_editor):
    from helpdesk import vectors
    from helpdesk.encoders import configured_dimensions

    vectors.ensure_index(configured_dimensions(), using_connection=schema_editor.connection)


def drop_indexes(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'helpdesk_chunk' AND indexname LIKE 'helpdesk_chunk_hnsw_%%'")
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("helpdesk", "0001_initial")]
    operations = [migrations.RunPython(create_index, drop_indexes)]
