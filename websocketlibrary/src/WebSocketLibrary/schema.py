"""JSON Schema validation of messages, with every error named by its path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for


def load_schema(schema: dict | str | Path) -> dict[str, Any]:
    """A schema given as a dict, a JSON string, or the path of a JSON file."""
    if isinstance(schema, dict):
        return schema
    text = str(schema)
    if not text.lstrip().startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise ValueError(f"Schema file {path} does not exist.")
        text = path.read_text(encoding="utf-8")
    try:
        loaded = json.loads(text)
    except ValueError as error:
        raise ValueError(f"The schema is not valid JSON: {error}") from None
    if not isinstance(loaded, dict):
        raise ValueError("A JSON Schema must be an object.")
    return loaded


class SchemaCheck:
    def __init__(self, schema: dict | str | Path) -> None:
        self.schema = load_schema(schema)
        cls = validator_for(self.schema)
        try:
            cls.check_schema(self.schema)
        except SchemaError as error:
            raise ValueError(f"Invalid JSON Schema: {error.message}") from None
        self.validator = cls(self.schema)

    def errors(self, instance: Any) -> list[str]:
        """Every violation as ``$.path: message``, in path order."""
        found = sorted(self.validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
        return [f"{error.json_path}: {error.message}" for error in found]
