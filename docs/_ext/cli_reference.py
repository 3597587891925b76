"""The command-line reference, rendered from the ``argparse`` parsers themselves.

The directive ``rdsplan-cli`` calls :func:`planning.app.cli.build_parser` and
renders the program and each of its sub-commands (recursively, so nested
sub-commands work too) as a section: what it does, its usage line exactly as
``--help`` prints it, and every option of every argument group with its help,
choices and default. A new sub-command or flag appears in the docs without
editing them, and a parser change can never leave the reference stale.

Usage in a MyST page::

    ```{rdsplan-cli}
    ```

Options: ``:module:`` and ``:func:`` name another parser factory
(default ``planning.app.cli`` and ``build_parser``).
"""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Iterator
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

__all__ = ["CliReference", "setup"]

#: Width of the usage lines, fixed so the page does not depend on the terminal that built it.
USAGE_WIDTH = 88


def usage_text(parser: argparse.ArgumentParser) -> str:
    """The usage line(s) ``parser.format_usage()`` prints, at a fixed width."""
    formatter = parser.formatter_class(prog=parser.prog, width=USAGE_WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def subcommands(
    parser: argparse.ArgumentParser,
) -> Iterator[tuple[str, str, argparse.ArgumentParser]]:
    """``(name, one-line help, parser)`` of each sub-command, in the order they were added."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
        seen: set[int] = set()
        for name, sub in action.choices.items():
            if id(sub) in seen:  # an alias of a sub-command already shown
                continue
            seen.add(id(sub))
            yield name, helps.get(name, ""), sub


def _expanded_help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser.formatter_class(prog=parser.prog, width=USAGE_WIDTH)
    return " ".join(formatter._expand_help(action).split()) if action.help else ""


def _invocation(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """``--budget N``, ``-o OUT, --output OUT``, ``STUDY.csv``: how the option is typed."""
    formatter = parser.formatter_class(prog=parser.prog, width=USAGE_WIDTH)
    return formatter._format_action_invocation(action)


def _sentence(text: str) -> str:
    """Help text ending with a full stop (argparse help is often a bare phrase)."""
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def _default_note(action: argparse.Action, help_text: str) -> str | None:
    default = action.default
    if (
        action.option_strings == []
        or default in (None, False, argparse.SUPPRESS)
        or action.nargs == 0
    ):
        return None
    if "default" in help_text.lower():
        return None
    if isinstance(default, (list, tuple)):
        default = ",".join(map(str, default))
    return f"Default: {default}."


#: Flags and commands inside help text, shown as code (and kept safe from smart quotes: ``--x``).
_CODE = re.compile(
    r"(?<![\w-])(--?[A-Za-z][\w-]*(?:[ =](?:[A-Z][A-Z_.,]*\b|[a-z0-9_.,:-]+(?=[),;]|$)))?"
    r"|'rdsplan [^']+')"
)


def _paragraph(text: str) -> nodes.paragraph:
    """A paragraph whose flags (``--budget``, ``-o``) and quoted commands are inline code."""
    para = nodes.paragraph()
    pos = 0
    for match in _CODE.finditer(text):
        if match.start() > pos:
            para += nodes.Text(text[pos : match.start()])
        para += nodes.literal(text=match.group(0).strip("'"))
        pos = match.end()
    if pos < len(text):
        para += nodes.Text(text[pos:])
    return para


def _paragraphs(text: str) -> list[nodes.paragraph]:
    return [_paragraph(" ".join(part.split())) for part in text.split("\n\n") if part.strip()]


def _options(parser: argparse.ArgumentParser) -> list[nodes.Node]:
    out: list[nodes.Node] = []
    for group in parser._action_groups:
        actions = [
            a
            for a in group._group_actions
            if a.help != argparse.SUPPRESS and not isinstance(a, argparse._SubParsersAction)
        ]
        if not actions:
            continue
        out.append(nodes.rubric(text=group.title[:1].upper() + group.title[1:]))
        if group.description:
            out.extend(_paragraphs(group.description))
        items = nodes.definition_list()
        for action in actions:
            help_text = _expanded_help(parser, action)
            term = nodes.term()
            term += nodes.literal(text=_invocation(parser, action))
            definition = nodes.definition()
            text = help_text
            if (
                action.choices is not None
                and action.metavar is not None
                and not isinstance(action.choices, dict)
            ):
                # a metavar hides the choices from the invocation: say them
                shown = ", ".join(str(c) for c in action.choices)
                text = f"{_sentence(text)} Choices: {shown}." if text else f"Choices: {shown}."
            note = _default_note(action, help_text)
            if note:
                text = f"{_sentence(text)} {note}" if text else note
            if action.required and action.option_strings:
                text = f"{_sentence(text)} Required." if text else "Required."
            definition += _paragraph(_sentence(text.strip()) or "(no help)")
            items += nodes.definition_list_item("", term, definition)
        out.append(items)
    return out


class CliReference(SphinxDirective):
    """Render a program's argparse parser and all its sub-commands as sections."""

    has_content = False
    option_spec: ClassVar[dict] = {"module": directives.unchanged, "func": directives.unchanged}

    def _section(self, parser: argparse.ArgumentParser, title: str, summary: str) -> nodes.section:
        anchor = nodes.make_id(title)
        section = nodes.section(ids=[anchor], names=[nodes.fully_normalize_name(title)])
        section += nodes.title(text=title)
        if summary:
            section += _paragraph(_sentence(summary))
        if parser.description and parser.description.strip() != summary.strip():
            section.extend(_paragraphs(parser.description))
        section += nodes.literal_block(text=usage_text(parser), language="text")
        section.extend(_options(parser))
        if parser.epilog:
            section.extend(_paragraphs(parser.epilog))
        for name, help_text, sub in subcommands(parser):
            section += self._section(sub, sub.prog or name, help_text)
        self.state.document.note_implicit_target(section, section)
        return section

    def run(self) -> list[nodes.Node]:
        module = importlib.import_module(self.options.get("module", "planning.app.cli"))
        parser = getattr(module, self.options.get("func", "build_parser"))()
        self.env.note_dependency(module.__file__)
        # The program's own options and usage, then one section per sub-command.
        intro: list[nodes.Node] = []
        intro.append(nodes.literal_block(text=usage_text(parser), language="text"))
        intro.extend(_options(parser))
        sections = [
            self._section(sub, sub.prog, help_text) for _, help_text, sub in subcommands(parser)
        ]
        return [*intro, *sections]


def setup(app):
    app.add_directive("rdsplan-cli", CliReference)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
