"""Developer sessions: ``nox -s tests``, ``lint``, ``typecheck``, ``examples``, ``bench``."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "examples"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "examples", "benchmarks", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    # The test extra brings every optional dependency the typed code imports (psycopg, celery, typer, zeep...).
    session.install("-e", ".[test,dev]")
    session.run("mypy")


@nox.session
def examples(session: nox.Session) -> None:
    session.install("-e", ".[examples]")
    for example in ("quickstart.py", "netsuite_items_phone_order.py", "netsuite_rest_items_phone_order.py",
                    "shopify_quickstart.py", "woocommerce_quickstart.py", "bigcommerce_quickstart.py"):
        session.run("python", f"examples/{example}")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: speed against the physical bound (plain, gzip and PHP-escaped answers), edits during a
    download, reconcile, CPU per order, memory, peers (about 4 minutes on 2 cores)."""
    session.install(".[bench]")
    session.run("python", "benchmarks/run.py", "--install-peers", *session.posargs)
    # The other carts' downloads against their fakes (8,000 orders, 250 ms), each a JSON line.
    session.run("python", "benchmarks/woocommerce.py")
    session.run("python", "benchmarks/bigcommerce.py")
    # Shopify: bulk against paged on 2,000 orders (the 20,000-order figures take half an hour: run it by hand).
    session.run("python", "examples/shopify_backfill.py", "2000")


@nox.session
def docs(session: nox.Session) -> None:
    """The docs site, built strictly (any warning fails): ``nox -s docs``; the site lands in ``build/site/``."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(name="bench-fleet")
def bench_fleet(session: nox.Session) -> None:
    """The fleet benchmark: 200 fake stores, W = 1, 2, 4, 8 Celery workers, then a worker killed mid-run
    (needs PostgreSQL and Redis on 127.0.0.1; `.ci/services` starts them). Minutes per W on 2 cores."""
    session.install("-e", ".[celery,postgres,test]")
    session.run("python", "examples/fleet/bench.py", "--stores", "200", "--orders", "300", "--latency", "0.1",
                "--workers", "1,2,4,8", *session.posargs)
