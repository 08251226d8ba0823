"""``drivers`` (what is installed and how each is configured) and ``fake`` (a store to try it all on).

``fake DRIVER`` starts the driver's fake store (found generically, see ``fakes``) on 127.0.0.1 and prints, once
it serves, the settings that reach it: as one JSON line with ``--json`` (for scripts, which read the first line
and go on), else as environment variables and a config file. ``--write-config FILE`` writes that config file
(driver and settings), so ``ecc-connectors -c FILE check`` works at once. It serves until interrupted (Ctrl-C
or SIGTERM). The fake's credentials are printed on purpose: they are the fake's own, accepted by nothing else.
"""

from __future__ import annotations

import json
import shlex
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from .. import ConfigurationError, available_drivers, describe_settings, get_driver
from ._output import EXIT_USAGE, Out, fail, handled

__all__ = ["drivers", "fake"]


def drivers(
    name: Annotated[str | None, typer.Argument(help="A driver: list its settings.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """List the installed drivers, or one driver's settings (with their environment variables)."""
    out = Out(json_output)
    with handled(out):
        if name is None:
            from .fakes import known_fakes  # the testing kit is imported only by the commands that use it

            fakes = {info.driver for info in known_fakes()}
            data: Any = [
                {
                    "name": driver_name,
                    "class": f"{cls.__module__}.{cls.__qualname__}",
                    "capabilities": sorted(c.value for c in cls.capabilities),
                    "configurable": cls.settings_class is not None,
                    "fake": driver_name in fakes,
                }
                for driver_name, cls in sorted(available_drivers().items())
            ]
            out.result(
                data,
                lambda: out.table(
                    "Drivers",
                    ["name", "fake store", "capabilities"],
                    [[d["name"], "yes" if d["fake"] else "", ", ".join(d["capabilities"])] for d in data],
                ),
            )
            return
        cls = get_driver(name)
        if cls.settings_class is None:
            raise ConfigurationError(f"driver {name!r} has no settings class: it is built in code only")
        infos = describe_settings(cls.settings_class)
        data = [
            {
                "name": i.name,
                "env": i.env,
                "kind": i.kind,
                "required": i.required,
                "secret": i.secret,
                "default": i.default_text,
                "choices": list(i.choices),
                "help": i.help,
            }
            for i in infos
        ]
        out.result(
            data,
            lambda: out.table(
                f"Settings of {name}",
                ["setting", "environment", "required", "default", "help"],
                [[d["name"], d["env"] or "", "yes" if d["required"] else "", d["default"], d["help"]] for d in data],
            ),
        )


def _knob_pairs(values: list[str] | None) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or ():
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise ConfigurationError(f"--set {value!r}: expected NAME=VALUE")
        pairs[name.strip()] = text
    return pairs


def _stop_on_term(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _toml_value(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def fake(
    driver: Annotated[str | None, typer.Argument(help="The driver whose fake store to start.")] = None,
    knob: Annotated[list[str] | None, typer.Option("--set", help="A knob NAME=VALUE (repeatable).")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0: any free one).")] = 0,
    write_config: Annotated[
        Path | None, typer.Option("--write-config", help="Write a config file (driver and settings) for this fake.")
    ] = None,
    knobs: Annotated[bool, typer.Option("--knobs", help="List the fake's knobs and exit.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the settings as one JSON line.")] = False,
) -> None:
    """Start a driver's fake store and print the settings to use against it (no account needed)."""
    out = Out(json_output)
    with handled(out):
        from .fakes import build_fake, fake_settings, find_fake, known_fakes

        if driver is None:
            data = [
                {"driver": i.driver, "class": i.cls.__name__, "module": i.module, "summary": i.summary}
                for i in known_fakes()
            ]
            out.result(
                data,
                lambda: out.table(
                    "Fake stores", ["driver", "class", "module"], [[d["driver"], d["class"], d["module"]] for d in data]
                ),
            )
            return
        info = find_fake(driver)
        if knobs:
            rows = [{"name": k.name, "type": k.type, "default": k.default} for k in info.knobs]
            out.result(
                rows,
                lambda: out.table(
                    f"Knobs of {info.cls.__name__} (--set NAME=VALUE)",
                    ["knob", "type", "default"],
                    [[r["name"], r["type"], repr(r["default"])] for r in rows],
                ),
            )
            return
        store = build_fake(info, _knob_pairs(knob), host, port)
        driver_cls = get_driver(driver)
        store.start()
        try:
            settings, missing = fake_settings(driver_cls, store)
            if missing:
                fail(
                    out,
                    EXIT_USAGE,
                    "MissingSettings",
                    f"the fake does not say these required settings of {driver}: {', '.join(missing)}",
                )
            if write_config is not None:
                lines = [
                    f"# ecc-connectors config for the fake {driver} store at {store.base_url}",
                    f"driver = {_toml_value(driver)}",
                    "",
                    "[settings]",
                ]
                lines += [f"{name} = {_toml_value(value)}" for name, value in settings.items()]
                write_config.write_text("\n".join(lines) + "\n", encoding="utf-8")
            env = _env_of(driver_cls, settings)
            if json_output:
                # One line, flushed: a script reads it and goes on while the store serves.
                typer.echo(
                    json.dumps(
                        {
                            "driver": driver,
                            "base_url": store.base_url,
                            "settings": settings,
                            "env": env,
                            "config": None if write_config is None else str(write_config),
                        }
                    )
                )
            else:
                out.line(f"fake {driver} store ({info.cls.__name__}) serving at {store.base_url}")
                out.line("its settings, as environment variables:")
                out.line(f"  export ECC_DRIVER={driver}")
                for variable, value in env.items():
                    out.line(f"  export {variable}={shlex.quote(value)}")  # a PEM key spans lines
                if write_config is not None:
                    out.line(f"and in {write_config}: ecc-connectors -c {write_config} check")
                out.line("Ctrl-C stops it.")
            sys.stdout.flush()
            signal.signal(signal.SIGTERM, _stop_on_term)
            store.serve_forever()
        finally:
            store.stop()


def _env_of(driver_cls: Any, settings: dict[str, str]) -> dict[str, str]:
    by_name = {i.name: i for i in describe_settings(driver_cls.settings_class)} if driver_cls.settings_class else {}
    return {
        by_name[name].env or name: value for name, value in settings.items() if name in by_name and by_name[name].env
    }
