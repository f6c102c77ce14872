"""Record which encoder answers queries, and give passages room for a new encoder's vectors.

An install that already has vectors keeps answering from them: the encoder that made most of them
is recorded as active, so a changed HELPDESK["ENCODER"] (or a new default) builds its vectors beside
them instead of leaving queries without any until the re-embedding ends.
"""

import pgvector.django.vector
from django.db import migrations, models
from django.db.models import Count
from django.utils import timezone


def record_the_encoder_of_existing_vectors(apps, schema_editor):
    Chunk, ActiveEncoder = apps.get_model("helpdesk", "Chunk"), apps.get_model("helpdesk", "ActiveEncoder")
    most = (Chunk.objects.exclude(encoder="").values("encoder").annotate(n=Count("id")).order_by("-n", "encoder")
            .first())
    if most is None:
        return
    name = most["encoder"]
    # The configuration that names vectors `name` (as helpdesk.encoders.EncoderConfig.from_name).
    spec, dimensions = name, None
    if name.startswith("hashing-") and name[8:].isdigit():
        spec = f"hashing:{name[8:]}"
    elif "@" in name and name.rpartition("@")[2].isdigit():
        spec, dimensions = name.rpartition("@")[0], int(name.rpartition("@")[2])
    ActiveEncoder.objects.create(id=1, spec=spec, dimensions=dimensions, name=name, activated_at=timezone.now())


class Migration(migrations.Migration):

    dependencies = [
        ('helpdesk', '0010_article_revisions'),
    ]

    operations = [
        migrations.CreateModel(
            name='ActiveEncoder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('spec', models.CharField(max_length=500)),
                ('dimensions', models.PositiveIntegerField(blank=True, null=True)),
                ('name', models.CharField(help_text='The encoder name its vectors carry', max_length=255)),
                ('activated_at', models.DateTimeField()),
            ],
        ),
        migrations.AddField(
            model_name='chunk',
            name='next_embedding',
            field=pgvector.django.vector.VectorField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='chunk',
            name='next_encoder',
            field=models.CharField(blank=True, db_index=True, max_length=255),
        ),
        migrations.RunPython(record_the_encoder_of_existing_vectors, migrations.RunPython.noop),
    ]
