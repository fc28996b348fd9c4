"""``manage.py ensure_database``: create the configured PostgreSQL database if it is missing.

Django cannot connect to a database that does not exist yet, so this connects to the server's
maintenance database instead. Used by ``make demo`` on a fresh machine.
"""

from typing import Any

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand
from psycopg import sql
from psycopg.conninfo import make_conninfo


class Command(BaseCommand):
    help = "Create the database named in DATABASE_URL if it does not exist."

    def handle(self, *args: Any, **options: Any) -> None:
        db = settings.DATABASES["default"]
        conninfo = make_conninfo(
            "",
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            dbname="postgres",
        )
        with psycopg.connect(conninfo, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
            ).fetchone()
            if exists:
                self.stdout.write(f"Database {db['NAME']} exists.")
                return
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
            self.stdout.write(self.style.SUCCESS(f"Created database {db['NAME']}."))
