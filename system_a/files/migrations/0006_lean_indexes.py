"""Plain indexes only: PostgreSQL's second, varchar_pattern_ops index of each indexed text
column (Django adds one for unique=True and db_index=True) goes, and so does the history's
index on its file alone, which the (file, at) index covers. Each was written by every change
of a row and read by no query (docs/benchmarks.md)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("files", "0005_outbox_sent_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="file",
            name="status",
            field=models.CharField(
                choices=[
                    ("PENDING", "Pending"),
                    ("PROCESSING", "Processing"),
                    ("SUCCESS", "Processed"),
                    ("FAILED", "Failed"),
                ],
                default="PENDING",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="file",
            name="storage_key",
            field=models.CharField(max_length=1024),
        ),
        migrations.AlterField(
            model_name="file",
            name="task_id",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AlterField(
            model_name="fileevent",
            name="file",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="events",
                to="files.file",
            ),
        ),
        migrations.AddIndex(
            model_name="file",
            index=models.Index(fields=["status"], name="file_status"),
        ),
        migrations.AddIndex(
            model_name="file",
            index=models.Index(fields=["task_id"], name="file_task_id"),
        ),
        migrations.AddConstraint(
            model_name="file",
            constraint=models.UniqueConstraint(
                fields=("storage_key",), name="file_storage_key_unique"
            ),
        ),
    ]
