"""Reading flow files (YAML, or JSON which YAML reads too) with the line of every value.

PyYAML's composer keeps each node's position; we build plain data from the node tree and a
map from path ("questions[3].next[0].goto") to line, so every error can name its line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from flows.lint import lint
from flows.schema import Flow
from flows.source import FlowError, Source


class FlowYamlLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. Under YAML 1.1 `yes`, `no`, `on`, `No` become
    booleans, and a flow says `any_of: [yes]` or `en: No` far more often than it means one."""


FlowYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
FlowYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class FlowFileError(Exception):
    def __init__(self, errors: list[FlowError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _build(
    node: yaml.Node, path: str, src: Source, errors: list[FlowError], loader: yaml.SafeLoader
) -> Any:
    src.lines.setdefault(path, node.start_mark.line + 1)
    # An alias makes a node appear twice; nested aliases expand exponentially ("billion
    # laughs"), and a flow file has no need of them: each text is written where it is used.
    if id(node) in src.seen_nodes:
        raise yaml.constructor.ConstructorError(
            None, None, "anchors and aliases (&, *) are not allowed", node.start_mark
        )
    src.seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            src.seen_nodes.add(id(key_node))
            key = _scalar(key_node, loader)
            child = _join(path, str(key))
            if key in out:
                errors.append(
                    FlowError(src.name, key_node.start_mark.line + 1, child, "duplicate key")
                )
            src.lines[child] = key_node.start_mark.line + 1
            out[key] = _build(value_node, child, src, errors, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, _join(path, i), src, errors, loader) for i, item in enumerate(node.value)
        ]
    return _scalar(node, loader)


def _scalar(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, "a mapping key must be a plain value", node.start_mark
        )
    return loader.construct_object(node, deep=True)


MAX_FLOW_BYTES = 512 * 1024


def read_source(name: str, text: str) -> tuple[Source, list[FlowError]]:
    src = Source(name=name, text=text)
    errors: list[FlowError] = []
    if len(text.encode("utf-8")) > MAX_FLOW_BYTES:
        return src, [FlowError(name, None, "", f"larger than {MAX_FLOW_BYTES // 1024} KiB")]
    try:
        node = yaml.compose(text, Loader=FlowYamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        return src, [FlowError(name, line, "", f"not valid YAML/JSON: {problem}")]
    if node is None:
        return src, [FlowError(name, 1, "", "the file is empty")]
    loader = FlowYamlLoader("")
    try:
        src.data = _build(node, "", src, errors, loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return src, [FlowError(name, mark.line + 1 if mark else None, "", str(getattr(exc, "problem", exc)))]
    finally:
        loader.dispose()
    if not isinstance(src.data, dict):
        errors.append(FlowError(name, 1, "", "a flow file must be a mapping (id, version, …)"))
    return src, errors


_SHAPES = {"str": str, "constrained-str": str, "int": int, "float": float, "bool": bool}


def _wrong_member(data: Any, loc: tuple[Any, ...]) -> bool:
    """True for the error of a union member the value plainly is not (`next` given as a
    list also fails as a string; saying so only hides the real problem)."""
    here = data
    for part in loc:
        if isinstance(part, str) and _is_union_tag(part):
            if part.startswith("list["):
                return not isinstance(here, list)
            if part in _SHAPES:
                return not isinstance(here, _SHAPES[part])
            return isinstance(here, list | str)  # a model member, given a list or a string
        if isinstance(part, int) and isinstance(here, list) and 0 <= part < len(here):
            here = here[part]
        elif isinstance(part, str) and isinstance(here, dict) and part in here:
            here = here[part]
        else:
            return False
    return False


def _loc_to_path(data: Any, loc: tuple[Any, ...]) -> str:
    """Pydantic locations include union tags ('list[Branch]', 'str'); keep the data's keys only."""
    path, here = "", data
    for part in loc:
        if isinstance(part, int) and isinstance(here, list) and 0 <= part < len(here):
            path, here = _join(path, part), here[part]
        elif isinstance(part, str) and isinstance(here, dict) and part in here:
            path, here = _join(path, part), here[part]
        elif isinstance(part, str) and isinstance(here, dict) and not _is_union_tag(part):
            path, here = _join(path, part), None  # a missing field: name it
    return path


def _is_union_tag(part: str) -> bool:
    return "[" in part or part in _SHAPES or part == "function-after" or part[:1].isupper()


def _message(err: ErrorDetails, path: str) -> str:
    if err["type"] == "missing" and path.rsplit(".", 1)[-1] in ("zh", "en"):
        return f"missing translation ({path.rsplit('.', 1)[-1]})"
    if err["type"] == "missing":
        return "required but missing"
    if err["type"] == "extra_forbidden":
        return "unknown field"
    return err["msg"].removeprefix("Value error, ")


def validate_source(src: Source) -> tuple[Flow | None, list[FlowError]]:
    try:
        return Flow.model_validate(src.data), []
    except ValidationError as exc:
        errors = []
        seen: set[tuple[str, str]] = set()
        for err in exc.errors():
            if _wrong_member(src.data, tuple(err["loc"])):
                continue
            path = _loc_to_path(src.data, tuple(err["loc"]))
            msg = _message(err, path)
            if (path, msg) in seen:  # union members report the same problem twice
                continue
            seen.add((path, msg))
            errors.append(FlowError(src.name, src.line_of(path), path, msg))
        return None, errors


def load_text(name: str, text: str) -> tuple[Flow | None, Source, list[FlowError]]:
    """Parse and check one flow file; the flow is None whenever there is an error."""
    src, errors = read_source(name, text)
    if errors:
        return None, src, errors
    flow, errors = validate_source(src)
    if flow is None:
        return None, src, errors
    errors = lint(flow, src)
    return (None if errors else flow), src, errors


def load_path(path: str | Path) -> tuple[Flow | None, Source, list[FlowError]]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, Source(str(p), ""), [FlowError(str(p), None, "", f"cannot read: {exc}")]
    return load_text(str(p), text)


def load_flow(path: str | Path) -> Flow:
    flow, _, errors = load_path(path)
    if flow is None:
        raise FlowFileError(errors)
    return flow


DEFAULTS_DIR = Path(__file__).parent / "defaults"


FLOW_SUFFIXES = (".yaml", ".yml", ".json")


def flow_files(directory: Path) -> list[Path]:
    """The flow files directly in `directory`, sorted by name."""
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in FLOW_SUFFIXES and p.is_file())


def default_flow_paths() -> list[Path]:
    """The bundled surveys, one per respondent category."""
    return sorted(DEFAULTS_DIR.glob("*.yaml"))


FOLLOWUPS_DIR = Path(__file__).parent / "followups"


def followup_flow_paths() -> list[Path]:
    """The bundled followup flows (kind: followup), seeded with the defaults."""
    return sorted(FOLLOWUPS_DIR.glob("*.yaml"))
