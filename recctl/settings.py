"""Settings as pydantic models, and one way to say what is wrong with them.

Every file or option recctl validates (the experiment file, the training, world and user
model files, a replica's RECCTL_* variables) is a `Settings` model: unknown keys are
errors, values are checked by type and bounds. `validate` turns pydantic's errors into
one RecctlError naming the source, the key, the value given and the fix; `read_yaml`
reads a YAML file safely, refusing a key given twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from recctl.errors import RecctlError

SHOWN_CHARS = 80  # an error message quotes at most this much of a bad value

M = TypeVar("M", bound=BaseModel)


class Settings(BaseModel):
    """A validated group of settings: frozen, and an unknown key is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """`repr(value)`, cut to `limit` characters with an ellipsis: a bad value in an error
    message stays readable however long it is."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def key_path(loc: tuple[Any, ...], prefix: str = "",
             names: Mapping[str, str] | None = None) -> str:
    """A pydantic error location as the dotted key a user wrote (`stack.replicas`).

    `names` renames a top-level field to what the user set (an environment variable).
    """
    # Model validators add a step such as "function-after[_consistent()]": not a key.
    parts = [str(p) for p in loc if not str(p).startswith("function-")]
    if parts and names:
        parts[0] = names.get(parts[0], parts[0])
    if prefix:
        parts.insert(0, prefix)
    return ".".join(parts) if parts else "(top level)"


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """The keys the mapping at `loc[:-1]` accepts, when it is a settings model."""
    current: type[BaseModel] = model
    for part in loc[:-1]:
        field = current.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        current = annotation
    return list(current.model_fields)


def problems(error: ValidationError, model: type[BaseModel] | None = None,
             prefix: str = "", names: Mapping[str, str] | None = None,
             unknown: str = "key") -> list[str]:
    """One `key: what is wrong (got value)` line per problem pydantic found.

    `unknown` is what the user calls a key of `model` ("parameter" for a recommender's).
    """
    lines = []
    for item in error.errors():
        key = key_path(item["loc"], prefix, names)
        kind = item["type"]
        if kind == "extra_forbidden":
            known = _known_keys(model, item["loc"]) if model is not None else None
            also = f" (known: {', '.join(known)})" if known else ""
            lines.append(f"{key}: unknown {unknown}; remove it or check its spelling{also}")
        elif kind == "missing":
            lines.append(f"{key}: required key is missing; add it")
        else:
            given = item.get("input")
            got = "" if isinstance(given, dict | list) else f" (got {shown(given)})"
            message = item["msg"].removeprefix("Value error, ")
            lines.append(f"{key}: {message}{got}")
    return lines


def settings_error(source: str | Path, error: ValidationError, *, what: str, hint: str,
                   model: type[BaseModel] | None = None, prefix: str = "",
                   names: Mapping[str, str] | None = None) -> RecctlError:
    """One RecctlError for everything pydantic found wrong in `source` (a file, a variable).

    One problem makes one line, `SOURCE: KEY: what is wrong (got VALUE)`; several are
    listed under `SOURCE: invalid WHAT`.
    """
    lines = problems(error, model, prefix, names)
    if len(lines) == 1:
        return RecctlError(f"{source}: {lines[0]}", hint)
    return RecctlError(f"{source}: invalid {what}\n" + "\n".join(f"  {line}" for line in lines),
                       hint)


def validate(model: type[M], raw: Any, source: str | Path, *, what: str, hint: str,
             prefix: str = "", names: Mapping[str, str] | None = None) -> M:
    """`model.model_validate(raw)`, with pydantic's errors turned into one RecctlError.

    `prefix` puts the keys under a section (`train.dssm.dim`); `names` says what the
    user called a top-level field (`RECCTL_PORT` for `port`).
    """
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise settings_error(source, exc, what=what, hint=hint, model=model,
                             prefix=prefix, names=names) from None


class _DuplicateKey(yaml.MarkedYAMLError):
    pass


class _StrictLoader(yaml.SafeLoader):
    """safe_load, except that a key given twice in one mapping is an error: plain YAML
    keeps the last one silently, so half of a file could be ignored unnoticed."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base constructor says so
                continue
            if first is not None:
                raise _DuplicateKey(
                    problem=f"key {shown(key)} appears twice in one mapping (first on line "
                            f"{first.start_mark.line + 1})",
                    problem_mark=key_node.start_mark)
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path, *, what: str, example: str,
              empty_ok: bool = False) -> dict[str, Any]:
    """A YAML file's top-level mapping (safe loading: no Python tags are ever run).

    `what` names the file in errors ("experiment file"), `example` is one to start from.
    An empty file is `{}` when `empty_ok`, else an error like any non-mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise RecctlError(f"{what} {shown(str(path))} not found", f"pass a file like {example}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RecctlError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})",
            f"save the {what} as UTF-8") from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except _DuplicateKey as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise RecctlError(f"{path}: line {line}: {exc.problem}",
                          "keep one of the two: YAML would silently use the last") from None
    except yaml.YAMLError as exc:
        raise RecctlError(f"{path}: not valid YAML ({exc})", "fix the YAML syntax") from None
    if raw is None and empty_ok:
        return {}
    if not isinstance(raw, dict):
        raise RecctlError(f"{path}: the top level must be a mapping of keys",
                          f"start from {example}")
    return raw
