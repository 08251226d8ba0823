"""docs/writing-a-driver.md keeps working: every code block in it is either run here, in order and in one
namespace, or is a region of the example plugin's real files (marked ``<!-- snippet: PATH#REGION -->`` just above
it) and must equal that region word for word. The plugin's own tests run the regions."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "writing-a-driver.md"
PLUGIN_SRC = ROOT / "examples" / "ecwid_plugin" / "src"
BLOCK = re.compile(r"(?:<!-- snippet: (?P<source>[^#\s]+)#(?P<region>[\w-]+) -->\n)?```(?P<lang>\w*)\n(?P<code>.*?)```",
                   re.DOTALL)


def blocks() -> list[tuple[str, str, str | None, str | None]]:
    text = DOC.read_text(encoding="utf-8")
    return [(m["lang"], m["code"], m["source"], m["region"]) for m in BLOCK.finditer(text)]


def region(path: Path, name: str) -> str:
    """The lines between ``# region: NAME`` and the next ``# endregion``, as written."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == f"# region: {name}")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "# endregion")
    return "".join(lines[start + 1:end])


def test_every_block_is_a_region_or_runs() -> None:
    kinds = {(lang, source is not None) for lang, _code, source, _region in blocks()}
    assert kinds <= {("python", True), ("python", False), ("toml", True), ("", False)}
    plain = [code for lang, code, source, _ in blocks() if lang == "" and source is None]
    assert all("\n" in code and "=" not in code.split("\n")[0] for code in plain)  # only the file tree


@pytest.mark.parametrize(("source", "name"), [(s, r) for _, _, s, r in blocks() if s is not None])
def test_regions_match_the_plugin(source: str, name: str) -> None:
    code = next(c for _, c, s, r in blocks() if s == source and r == name)
    assert code == region(ROOT / source, name), f"docs/writing-a-driver.md is out of date with {source}#{name}"


def test_the_entry_point_block_is_the_plugins() -> None:
    code = next(c for lang, c, _, _ in blocks() if lang == "toml")
    points = tomllib.loads(code)["project"]["entry-points"]["ecc_connectors.drivers"]
    pyproject = tomllib.loads((ROOT / "examples" / "ecwid_plugin" / "pyproject.toml").read_text(encoding="utf-8"))
    assert points == pyproject["project"]["entry-points"]["ecc_connectors.drivers"] == {
        "ecwid": "ecc_connectors_ecwid:EcwidDriver"}


def test_the_runnable_blocks_run_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    import ecc_connectors

    if importlib.util.find_spec("ecc_connectors_ecwid") is None:  # the plugin is not installed: use its source
        monkeypatch.syspath_prepend(str(PLUGIN_SRC))
    from ecc_connectors_ecwid import EcwidDriver

    registered = "ecwid" not in ecc_connectors.available_drivers()
    if registered:  # not installed, so no entry point: as if it were
        ecc_connectors.register("ecwid", EcwidDriver)
    try:
        namespace: dict[str, object] = {"__name__": "writing_a_driver_doc"}
        for lang, code, source, _ in blocks():
            if lang == "python" and source is None:
                exec(compile(code, str(DOC), "exec"), namespace)
    finally:
        if registered:
            ecc_connectors.unregister("ecwid")
