"""Pages that may not exist yet, and the case-study reports.

``optional-toctree``
    A ``toctree`` whose entries that name no page of the docs are left out
    instead of failing the build: the guides list pages other work adds
    (``error-statements``, ``gfp``, ``evaluation``), and each appears in the
    navigation the moment its file lands. Same options as ``toctree``.

``case-study-reports``
    A list of the HTML reports committed under ``case_studies/`` (found by
    file name, titled by their ``<title>``), each linked to a copy placed in the
    built site under ``case_studies/`` together with the figures, tables and
    scripts beside it; a sentence when there is none yet.

Links in ``case_studies/README.md`` (included by ``case-studies.md``) are
written relative to that folder; when it is included they are pointed at the
copies in the built site, and a link to a file elsewhere in the repository
becomes its path in code, so the README can link freely without breaking the
build.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.directives.other import TocTree
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri

__all__ = ["CaseStudyReports", "OptionalTocTree", "case_study_files", "setup"]

logger = logging.getLogger(__name__)

#: Where the case studies live, relative to the documentation's source folder.
CASE_STUDIES = Path("..") / "case_studies"
#: Files copied into the built site beside the reports (what a report or the README may link to).
REPORT_ASSETS = {
    ".html",
    ".png",
    ".svg",
    ".jpg",
    ".jpeg",
    ".gif",
    ".csv",
    ".json",
    ".txt",
    ".md",
    ".py",
}

_ENTRY = re.compile(r"^(?:.*<(?P<target>[^<>]+)>|(?P<plain>\S+))\s*$")
_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


class OptionalTocTree(TocTree):
    """A toctree that silently drops entries naming pages that do not exist (yet)."""

    def run(self) -> list[nodes.Node]:
        keep = []
        for i, entry in enumerate(self.content):
            match = _ENTRY.match(entry.strip())
            target = (match.group("target") or match.group("plain")) if match else entry.strip()
            if not entry.strip() or self._exists(target):
                keep.append(i)
        self.content.data[:] = [self.content.data[i] for i in keep]
        self.content.items[:] = [self.content.items[i] for i in keep]
        return super().run()

    def _exists(self, target: str) -> bool:
        if target == "self" or "://" in target or ":glob:" in target:
            return True
        name = target.removesuffix(".md").removesuffix(".rst")
        base = self.env.docname.rpartition("/")[0]
        docname = f"{base}/{name}" if base and not name.startswith("/") else name.lstrip("/")
        if docname in self.env.found_docs:
            return True
        # a page still to come: read this one again on every build, so it appears when the file lands
        self.env.note_dependency(str(Path(self.env.srcdir) / f"{docname}.md"))
        return False


def case_study_files(srcdir: Path) -> tuple[Path, list[Path], list[Path]]:
    """The case-study folder, its HTML reports and every file to copy, in name order."""
    root = (srcdir / CASE_STUDIES).resolve()
    if not root.is_dir():
        return root, [], []
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in REPORT_ASSETS
        and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts[:-1])
    )
    return root, [p for p in files if p.suffix.lower() == ".html"], files


def _title(path: Path) -> str:
    match = _TITLE.search(path.read_text(encoding="utf-8", errors="replace")[:20_000])
    text = " ".join(html.unescape(match.group(1)).split()) if match else ""
    return text or path.stem.replace("_", " ").replace("-", " ")


class CaseStudyReports(SphinxDirective):
    """Bullet list of the committed case-study reports, linked into the built site."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        root, reports, _ = case_study_files(Path(self.env.srcdir))
        if not reports:
            return [
                nodes.paragraph(
                    text="No case-study report has been committed yet: run a case "
                    "study (see above) and open the HTML report it writes."
                )
            ]
        listing = nodes.bullet_list()
        for report in reports:
            self.env.note_dependency(str(report))
            rel = report.relative_to(root).as_posix()
            uri = relative_uri(
                self.env.app.builder.get_target_uri(self.env.docname), f"case_studies/{rel}"
            )
            para = nodes.paragraph()
            para += nodes.reference("", _title(report), refuri=uri, internal=False)
            para += nodes.Text(" (")
            para += nodes.literal(text=f"case_studies/{rel}")
            para += nodes.Text(")")
            listing += nodes.list_item("", para)
        return [listing]


def _case_study_links(app, relative_path, parent_docname, content: list[str]) -> None:
    """Point the relative links of an included case-study file at the copies in the built site."""
    srcdir = Path(app.srcdir).resolve()
    root = (srcdir / CASE_STUDIES).resolve()
    path = (srcdir / relative_path).resolve()
    if not path.is_relative_to(root):
        return
    page = app.builder.get_target_uri(str(parent_docname)) if app.builder.format == "html" else ""
    repo = root.parent

    def rewrite(match: re.Match) -> str:
        text, target = match.group("text"), match.group("target")
        if _SCHEME.match(target) or target.startswith(("#", "/")):
            return match.group(0)
        file, _, fragment = target.partition("#")
        resolved = (path.parent / file).resolve()
        if resolved.is_relative_to(srcdir):
            return match.group(0)  # a page of the docs: MyST resolves it
        if (
            resolved.is_relative_to(root)
            and resolved.is_file()
            and resolved.suffix.lower() in REPORT_ASSETS
        ):
            uri = relative_uri(page, f"case_studies/{resolved.relative_to(root).as_posix()}")
            return f'<a href="{html.escape(uri)}{"#" + fragment if fragment else ""}">{text}</a>'
        shown = resolved.relative_to(repo).as_posix() if resolved.is_relative_to(repo) else file
        return f"{text} (`{shown}`)"

    content[0] = _LINK.sub(rewrite, content[0])


def _copy_reports(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    root, _, files = case_study_files(Path(app.srcdir))
    for path in files:
        target = Path(app.outdir) / "case_studies" / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    if files:
        logger.info(
            "copied %d case-study file(s) into %s", len(files), Path(app.outdir) / "case_studies"
        )


def setup(app):
    app.add_directive("optional-toctree", OptionalTocTree)
    app.add_directive("case-study-reports", CaseStudyReports)
    app.connect("include-read", _case_study_links)
    app.connect("build-finished", _copy_reports)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
