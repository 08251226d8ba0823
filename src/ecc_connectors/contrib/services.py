"""Where the PostgreSQL and Redis servers of the tests are, and what to do when one does not answer.

Tests of :class:`~ecc_connectors.ledger.postgres.PostgresLedger` and of the Celery fan-out need real servers.
Locally a missing server skips those tests with the reason; in CI (``ECC_REQUIRE_SERVICES=1``, set by
``.ci/run`` after ``.ci/services`` started them) it fails them, so a broken service can never pass as green.

* ``ECC_TEST_PG_DSN`` -- a libpq connection string (default ``host=127.0.0.1 port=5432 dbname=test
  user=postgres``: the project's machines run PostgreSQL with trust auth and a ``test`` database);
* ``ECC_TEST_REDIS_URL`` -- a Redis URL (default ``redis://127.0.0.1:6379/0``).

Each test run isolates itself on these shared servers: a PostgreSQL schema of its own per ledger
(:func:`unique_name`), and Redis keys under a prefix of its own, so parallel sessions and CI runs never collide.
"""

from __future__ import annotations

import os
import secrets
import urllib.parse

__all__ = ["postgres_dsn", "redis_url", "require_postgres", "require_redis", "services_required", "unique_name"]

DEFAULT_PG_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def postgres_dsn() -> str:
    return os.environ.get("ECC_TEST_PG_DSN") or DEFAULT_PG_DSN


def redis_url() -> str:
    return os.environ.get("ECC_TEST_REDIS_URL") or DEFAULT_REDIS_URL


def services_required() -> bool:
    """Whether a missing server must fail the tests (``ECC_REQUIRE_SERVICES=1``) rather than skip them."""
    return os.environ.get("ECC_REQUIRE_SERVICES") == "1"


def unique_name(prefix: str = "ecc_t") -> str:
    """A name no other test run uses (a schema, a queue, a key prefix): the prefix, the pid and 48 random bits."""
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(6)}"


def _missing(reason: str) -> None:
    import pytest  # only tests call this

    if services_required():
        pytest.fail(f"ECC_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def require_postgres() -> str:
    """The DSN of a PostgreSQL server that answers a query; otherwise skip (fail under
    ``ECC_REQUIRE_SERVICES=1``)."""
    dsn = postgres_dsn()
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except ImportError as exc:
        _missing(f"psycopg is not installed (the [postgres] extra): {exc}")
    except Exception as exc:  # any reason the server does not answer
        _missing(f"PostgreSQL does not answer at {_safe_dsn(dsn)}: {type(exc).__name__}: {exc}")
    return dsn


def require_redis() -> str:
    """The URL of a Redis server that answers PING; otherwise skip (fail under ``ECC_REQUIRE_SERVICES=1``)."""
    url = redis_url()
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except ImportError as exc:
        _missing(f"redis is not installed (the [celery] extra): {exc}")
    except Exception as exc:
        _missing(f"Redis does not answer at {_safe_url(url)}: {type(exc).__name__}: {exc}")
    return url


def _safe_dsn(dsn: str) -> str:
    # A DSN may carry a password; show where, never how.
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(dsn)
    except Exception:
        return "(unparsable DSN)"
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


def _safe_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"
