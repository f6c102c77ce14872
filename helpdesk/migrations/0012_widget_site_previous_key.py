from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0011_active_encoder_and_staged_vectors"),
    ]

    operations = [
        migrations.AddField(
            model_name="widgetsite",
            name="previous_key",
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
        migrations.AddField(
            model_name="widgetsite",
            name="previous_key_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
