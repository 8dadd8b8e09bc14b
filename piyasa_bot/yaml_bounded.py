"""Bounded YAML: a roster document is measured before anything is built from it.

Decision: aliases and merge keys stay allowed (an anchored persona shared by several bots is
handy), but the composed node graph is measured with every alias expanded before anything is
constructed. Composing is cheap because PyYAML shares aliased nodes; what would explode is
what comes after (merge-key flattening, validation), and that never starts past MAX_NODES.

Errors are worded from their parts, never from str(error): that quotes the
offending line, which may hold a token.
"""

from __future__ import annotations

from typing import Any

import yaml

from piyasa_bot.problems import Refused

# Values in the document with every alias expanded. A 1,000-bot roster has ~60k; a
# "billion laughs" document has 10**9 and is refused before any Python object is built.
MAX_NODES = 200_000


def load_bounded(text: str) -> tuple[Any, list[str]]:
    """(the document's data, notes on duplicate keys); raises Refused with a readable reason."""
    loader = _BoundedLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        where = f"at {_at(error.problem_mark)}: " if error.problem_mark else ""
        context = f" ({error.context} at {_at(error.context_mark)})" if error.context and error.context_mark else ""
        raise Refused(f"invalid YAML {where}{error.problem}{context}") from None
    except RecursionError:
        raise Refused("is nested too deeply to be a roster") from None
    except (yaml.YAMLError, ValueError) as error:
        raise Refused(f"invalid YAML: {error}") from None
    finally:
        loader.dispose()
    return data, loader.duplicate_keys


class _BoundedLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    duplicate_keys: list[str]

    def get_single_data(self) -> Any:
        self.duplicate_keys = []
        node = self.get_single_node()
        if node is None:
            return None
        self.duplicate_keys = _check_graph(node)
        return self.construct_document(node)


def _at(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _check_graph(root: yaml.Node) -> list[str]:
    """Refuses cycles and more than MAX_NODES expanded values; returns notes on duplicate keys."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    duplicates: list[str] = []
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # iterative post-order walk, so a deep document cannot exhaust the Python stack
        node, finished = stack.pop()
        children = (
            [part for pair in node.value for part in pair]
            if isinstance(node, yaml.MappingNode)
            else (list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        )
        if finished:
            on_path.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[id(node)] > MAX_NODES:
                raise Refused(f"has more than {MAX_NODES:,} values once YAML aliases (*name) are expanded")
        elif id(node) in on_path:
            raise Refused(f"{_at(node.start_mark)}: an alias refers to a value that contains it")
        elif id(node) not in sizes:
            on_path.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))  # document order
            if isinstance(node, yaml.MappingNode):
                duplicates += _duplicate_keys(node)
    return duplicates


def _duplicate_keys(node: yaml.MappingNode) -> list[str]:
    # PyYAML silently keeps the last of two equal keys: a second `bots:` would hide the first.
    seen: set[str] = set()
    notes = []
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value != "<<":
            if key.value in seen:
                notes.append(f"{_at(key.start_mark)}: duplicate key '{key.value}' (YAML keeps only the last)")
            seen.add(key.value)
    return notes
