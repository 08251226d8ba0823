"""Optional integrations that run the SDK at scale, each behind its own extra.

* :mod:`ecc_connectors.contrib.celery` -- fan-out of downloads, reconciles and post-backs over Celery workers
  (extra ``[celery]``), with a store registry, a beat schedule and a per-store rate limit shared in Redis;
* :mod:`ecc_connectors.contrib.services` -- finding the PostgreSQL and Redis servers tests run against, skipping
  or (under ``ECC_REQUIRE_SERVICES=1``) failing when one does not answer.

Nothing here is imported by ``ecc_connectors`` itself: the core never needs Celery, Redis or psycopg.
"""
