"""Django migration sources the gate tests put into pull requests (the project's own)."""

from __future__ import annotations

INITIAL = b'''"""Create Person."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Person",
            fields=[
                ("id", models.AutoField(primary_key=True)),
                ("name", models.CharField(max_length=100)),
                ("email", models.EmailField(max_length=254)),
            ],
        ),
    ]
'''

REMOVE_EMAIL = b'''"""Remove Person.email (step 2 of a remove plan)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [
        migrations.RemoveField(model_name="person", name="email"),
    ]
'''

ADD_NICKNAME = b'''"""Add Person.nickname, nullable."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="person",
            name="nickname",
            field=models.CharField(max_length=50, null=True),
        ),
    ]
'''

BROKEN = b'''"""Half-typed."""

from django.db import migrations

class Migration(migrations.Migration:
    operations = [
'''

# Latin-1 bytes: not UTF-8.
NOT_UTF8 = b'"""Caf\xe9."""\nfrom django.db import migrations\n'

BASE_TREE = {
    "people/__init__.py": b"",
    "people/models.py": b"from django.db import models\n",
    "people/migrations/__init__.py": b"",
    "people/migrations/0001_initial.py": INITIAL,
}
