"""A griffe extension for the docs site: the SDK's docstrings are written with reST habits, shown here as Markdown.

* Sphinx roles (``:class:`Driver```, ``:meth:`SyncPolicy.check```, ``:class:`~ecc_connectors._errors.ConnectorError```)
  become cross-references: the name is resolved in the docstring's own scope and linked with an *optional*
  autoref, so a name the site does not render (a private helper, ``ValueError``) shows as plain code instead of
  failing ``mkdocs build --strict``.
* reST literal blocks (a paragraph ending in ``::`` followed by an indented block) become fenced code blocks.
* reST simple tables (columns between ``====  ====`` borders) become Markdown tables; a table without a header
  row gets an empty one.

Loaded by ``mkdocs.yml`` (``extensions: - docs/reference/_griffe_rst.py``); ``mkdocs build`` runs from the repository
root. This file is excluded from the site itself.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_BORDER = re.compile(r"^\s*=+( +=+)+\s*$")
_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")
_ROLE = re.compile(r":(?:py:)?(?P<role>class|func|meth|attr|data|exc|obj|mod|const):`(?P<target>[^`]+)`")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _literal_blocks(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.rstrip().endswith("::"):
            out.append(line)
            i += 1
            continue
        base = _indent(line)
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j >= len(lines) or _indent(lines[j]) <= base:
            out.append(line)
            i += 1
            continue
        head = line.rstrip()[:-2].rstrip()
        if head.strip():
            out.append(head + ":")
        block_indent = _indent(lines[j])
        k = j
        block: list[str] = []
        while k < len(lines) and (not lines[k].strip() or _indent(lines[k]) > base):
            block.append(lines[k][block_indent:] if lines[k].strip() else "")
            k += 1
        while block and not block[-1]:
            block.pop()
        pad = " " * base
        out.append("")
        out.append(f"{pad}```python")
        out.extend(pad + code if code else "" for code in block)
        out.append(f"{pad}```")
        out.append("")
        i = k
    return "\n".join(out)


def _cell(text: str) -> str:
    parts = text.split("``")  # pipes inside code spans are kept by the table parser; escape the others
    return "``".join(part if i % 2 else part.replace("|", "\\|") for i, part in enumerate(parts)).strip()


def _simple_tables(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _BORDER.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        border = lines[i]
        starts = [m.start() for m in re.finditer(r"=+", border)]
        borders = [i]
        j = i + 1
        while j < len(lines) and len(borders) < 3 and lines[j].strip():
            if lines[j].strip() and _BORDER.match(lines[j]):
                borders.append(j)
                if j + 1 >= len(lines) or not lines[j + 1].strip():
                    break
            j += 1
        if len(borders) < 2 or not _BORDER.match(lines[borders[-1]]):
            out.append(lines[i])
            i += 1
            continue
        rows: list[list[str]] = []
        header: list[str] | None = None
        for k in range(i + 1, borders[-1]):
            if k in borders:
                header, rows = rows[0] if rows else None, []
                continue
            line = lines[k]
            cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
            if rows and not cells[0]:
                rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells, strict=True)]
            else:
                rows.append(cells)
        pad = " " * (len(border) - len(border.lstrip()))
        out.append("")
        out.append(pad + "| " + " | ".join(_cell(c) for c in (header or [""] * len(starts))) + " |")
        out.append(pad + "|" + "|".join(" --- " for _ in starts) + "|")
        out.extend(pad + "| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
        out.append("")
        i = borders[-1] + 1
    return "\n".join(out)


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring of the package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._walk(pkg, pkg, set())

    def _walk(self, obj: griffe.Object, pkg: griffe.Module, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = self._convert(obj, pkg, obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._walk(member, pkg, seen)  # type: ignore[arg-type]

    def _convert(self, obj: griffe.Object, pkg: griffe.Module, text: str) -> str:
        def shown(match: re.Match[str]) -> str:
            target = match.group("target").strip()
            name = target.lstrip("~").rsplit(".", 1)[-1] if target.startswith("~") else target
            return name + "()" if match.group("role") in ("func", "meth") else name

        def link(match: re.Match[str]) -> str:
            path = self._resolve(obj, pkg, match.group("target").strip().lstrip("~"))
            code = f"<code>{html.escape(shown(match))}</code>"
            if path is None:
                return code
            return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'

        lines = _simple_tables(_literal_blocks(text)).split("\n")
        for i, line in enumerate(lines):
            # Raw HTML in a heading garbles the page's table of contents: headings get plain code, no link.
            underline = i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1]) is not None
            if underline or line.lstrip().startswith("#"):
                lines[i] = _ROLE.sub(lambda m: f"`{shown(m)}`", line)
            else:
                lines[i] = _ROLE.sub(link, line)
        return "\n".join(lines)

    @staticmethod
    def _resolve(obj: griffe.Object, pkg: griffe.Module, target: str) -> str | None:
        first, _, rest = target.partition(".")
        if first == pkg.name:
            path = target
        else:
            try:
                path = obj.resolve(first)
            except (griffe.NameResolutionError, griffe.AliasResolutionError, KeyError):
                return None
            if rest:
                path = f"{path}.{rest}"
        if not path.startswith(pkg.name + ".") and path != pkg.name:
            return None
        try:
            found = pkg.modules_collection[path]
            return str(found.canonical_path)
        except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            return None
