"""AsyncAPI 3 documents: loading (YAML or JSON, ``$ref`` across files), the messages of a
channel or operation, and validating a payload against their schemas (JSON Schema draft
2020-12), with failures that name the message, the schema location and the value."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import yaml
from jsonschema.validators import Draft202012Validator, validator_for
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT202012

from .frames import preview

ACTIONS = ("send", "receive")
# Payload formats that are JSON Schema (AsyncAPI's own Schema Object is a superset of it).
JSON_SCHEMA_FORMATS = ("application/vnd.aai.asyncapi", "application/schema+json",
                       "application/schema+yaml")
VALUE_PREVIEW = 80
CLOSEST_SHOWN = 2  # of the messages tied for the fewest errors, the first ones in full


def _load_file(uri: str) -> Any:
    path = Path(unquote(urlparse(uri).path))
    if not path.is_file():
        raise ValueError(f"AsyncAPI: {path} does not exist.")
    text = path.read_text(encoding="utf-8")
    try:
        # YAML 1.2 is a superset of JSON, but PyYAML's 1.1 is not quite: JSON files by json.
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise ValueError(f"AsyncAPI: {path} is not valid {path.suffix[1:].upper() or 'YAML'}: "
                         f"{error}") from None


def _pointer(node: Any, pointer: str, where: str) -> Any:
    for escaped in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        part = unquote(escaped).replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise ValueError(f"AsyncAPI: {where} does not exist.") from None
    return node


@dataclass(frozen=True)
class Location:
    """Where a node of the document (or of a file it refers to) is: a file URI and a JSON
    pointer."""

    uri: str
    pointer: str

    def join(self, *parts: str | int) -> Location:
        escaped = [str(p).replace("~", "~0").replace("/", "~1") for p in parts]
        return Location(self.uri, "/".join([self.pointer.rstrip("/"), *escaped]))


@dataclass
class Message:
    """A message of a channel: its name (key in the channel's ``messages``) and payload."""

    name: str
    node: dict[str, Any]
    payload: Location | None
    validator: Any = None


@dataclass
class Violation:
    """One way a payload breaks a message's schema."""

    path: str  # JSONPath in the payload
    message: str  # jsonschema's explanation
    schema: str  # file#pointer of the failing keyword, relative to the document's folder
    value: Any
    depth: int = 0  # of the offending value in the payload

    def __str__(self) -> str:
        value = preview(json.dumps(self.value, ensure_ascii=False), VALUE_PREVIEW)
        return f"{self.path}: {self.message} (schema {self.schema}, value {value})"


@dataclass
class Outcome:
    """The result of validating one payload against the candidate messages."""

    tried: list[str]
    matched: str | None = None
    closest: dict[str, list[Violation]] = field(default_factory=dict)

    def describe(self, payload: Any, scope: str) -> str:
        shown = preview(json.dumps(payload, ensure_ascii=False) if not isinstance(
            payload, str | bytes) else payload, 200)
        tried = f"tried {', '.join(self.tried)}" if self.tried else "it has none"
        lines = [f"{shown} matches no message of {scope} ({tried})."]
        closest = list(self.closest.items())
        for name, violations in closest[:CLOSEST_SHOWN]:
            lines.append(f"Closest: message '{name}' ({len(violations)} error(s)):")
            lines.extend(f"  {violation}" for violation in violations)
        if len(closest) > CLOSEST_SHOWN:
            lines.append(f"As close: {', '.join(name for name, _ in closest[CLOSEST_SHOWN:])}.")
        return "\n".join(lines)


class AsyncApiDocument:
    """An AsyncAPI 3 document loaded from a file, with its ``$ref``s resolved on demand.

    ``describes`` is the application the document is written for: ``server`` (the usual
    API contract: the client's frames are what the server's ``receive`` operations take)
    or ``client``.
    """

    def __init__(self, path: str | Path, describes: str = "server") -> None:
        self.path = Path(path).resolve()
        if describes not in ("server", "client"):
            raise ValueError(f"describes must be 'server' or 'client', not {describes!r}.")
        self.describes = describes
        self.uri = self.path.as_uri()
        self._files: dict[str, Any] = {}
        self.root = self._file(self.uri)
        version = self.root.get("asyncapi") if isinstance(self.root, dict) else None
        if not (isinstance(version, str) and version.startswith("3.")):
            raise ValueError(f"AsyncAPI: {self.path} is not an AsyncAPI 3 document "
                             f"(asyncapi: {version!r}).")
        self.title = str(self.root.get("info", {}).get("title", self.path.stem))
        self._registry: Registry[Any] = Registry(retrieve=self._retrieve)  # type: ignore[call-arg]
        self._messages: dict[Location, Message] = {}

    # -- files and references ----------------------------------------------------------

    def _file(self, uri: str) -> Any:
        if uri not in self._files:
            self._files[uri] = _load_file(uri)
        return self._files[uri]

    def _retrieve(self, uri: str) -> Resource[Any]:
        if not uri.startswith("file:"):  # only files beside the document: no network
            raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
        return Resource.from_contents(self._file(uri), default_specification=DRAFT202012)

    def node(self, location: Location) -> Any:
        return _pointer(self._file(location.uri), location.pointer, self.show(location))

    def resolve(self, location: Location) -> tuple[Location, Any]:
        """The node at ``location`` with ``$ref``s followed (across files), and where it is."""
        seen = set()
        node = self.node(location)
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            if location in seen:
                raise ValueError(f"AsyncAPI: circular $ref at {self.show(location)}.")
            seen.add(location)
            uri, fragment = urldefrag(urljoin(location.uri, node["$ref"]))
            location = Location(uri, fragment)
            node = self.node(location)
        return location, node

    def show(self, location: Location) -> str:
        """``location`` for messages: its file relative to the document's folder."""
        path = unquote(urlparse(location.uri).path)
        name = Path(os.path.relpath(path, self.path.parent)).as_posix()
        return f"{name}#{location.pointer or '/'}"

    # -- channels, operations, messages ------------------------------------------------

    def _section(self, name: str) -> dict[str, Any]:
        section = self.root.get(name) or {}
        return section if isinstance(section, dict) else {}

    def channel_names(self) -> list[str]:
        return list(self._section("channels"))

    def operation_names(self) -> list[str]:
        return list(self._section("operations"))

    def _channel(self, channel: str) -> Location:
        channels = self._section("channels")
        if channel in channels:
            return Location(self.uri, "").join("channels", channel)
        for key in channels:  # by address, as a URL path would name it
            if self.resolve(Location(self.uri, "").join("channels", key))[1].get(
                    "address") == channel:
                return Location(self.uri, "").join("channels", key)
        raise ValueError(f"AsyncAPI '{self.title}' has no channel {channel!r}. "
                         f"Channels: {', '.join(channels) or 'none'}.")

    def _channel_messages(self, channel: Location) -> list[Message]:
        where, node = self.resolve(channel)
        return [self._message(where.join("messages", name), name)
                for name in (node.get("messages") or {})]

    def _message(self, location: Location, name: str = "") -> Message:
        where, node = self.resolve(location)
        if not name:  # an operation's entry: {$ref: '#/channels/<c>/messages/<name>'}
            entry = self.node(location)
            ref = entry.get("$ref") if isinstance(entry, dict) else None
            pointer = urldefrag(ref)[1] if isinstance(ref, str) else where.pointer
            name = unquote(pointer.rstrip("/").rsplit("/", 1)[-1])
        if where not in self._messages:
            self._messages[where] = Message(name, node, self._payload(where, node))
        return self._messages[where]

    def _payload(self, where: Location, node: dict[str, Any]) -> Location | None:
        if "payload" not in node:
            return None
        payload_at, payload = self.resolve(where.join("payload"))
        if isinstance(payload, dict) and "schemaFormat" in payload:  # a Multi Format Schema
            form = str(payload["schemaFormat"])
            if not form.startswith(JSON_SCHEMA_FORMATS):
                raise ValueError(f"AsyncAPI: the payload of {self.show(where)} is in "
                                 f"{form}; only JSON Schema payloads can be validated.")
            payload_at, _ = self.resolve(payload_at.join("schema"))
        return payload_at

    def _operation(self, operation: str) -> tuple[Location, dict[str, Any]]:
        operations = self._section("operations")
        if operation not in operations:
            raise ValueError(f"AsyncAPI '{self.title}' has no operation {operation!r}. "
                             f"Operations: {', '.join(operations) or 'none'}.")
        return self.resolve(Location(self.uri, "").join("operations", operation))

    def messages(self, channel: str | None = None, operation: str | None = None,
                 action: str | None = None) -> tuple[list[Message], str]:
        """The candidate messages and a description of where they come from.

        ``operation``: that operation's messages (all of its channel's when it lists none).
        ``channel`` (its key or address) with ``action``: the messages of the operations
        with that action on it; without ``action``, all of the channel's messages. Neither:
        every channel's (or every operation with ``action``).
        """
        if action is not None and action not in ACTIONS:
            raise ValueError(f"action must be 'send' or 'receive', not {action!r}.")
        if operation is not None:
            where, node = self._operation(operation)
            if action is not None and node.get("action") != action:
                raise ValueError(f"Operation {operation!r} is a {node.get('action')!r} "
                                 f"operation, not {action!r}.")
            refs = node.get("messages")
            if refs:
                found = [self._message(where.join("messages", i)) for i in range(len(refs))]
            else:
                found = self._channel_messages(where.join("channel"))
            return self._unique(found), f"operation '{operation}'"
        channels = [self._channel(channel)] if channel is not None else [
            Location(self.uri, "").join("channels", key) for key in self.channel_names()]
        scope = f"channel '{channel}'" if channel is not None else "any channel"
        if action is None:
            found = [m for c in channels for m in self._channel_messages(c)]
            return self._unique(found), scope
        wanted = {self.resolve(c)[0] for c in channels}
        found = []
        for name in self.operation_names():
            where, node = self._operation(name)
            if node.get("action") != action or self.resolve(where.join("channel"))[0] \
                    not in wanted:
                continue
            if node.get("messages"):
                found += [self._message(where.join("messages", i))
                          for i in range(len(node["messages"]))]
            else:
                found += self._channel_messages(where.join("channel"))
        return self._unique(found), f"{scope} (operations that {action})"

    @staticmethod
    def _unique(messages: list[Message]) -> list[Message]:
        return list({id(message): message for message in messages}.values())

    def action_for(self, sent: bool) -> str:
        """The action of the operations whose messages a frame the client sent (or received)
        must be."""
        client_sends = "receive" if self.describes == "server" else "send"
        return client_sends if sent else ("send" if client_sends == "receive" else "receive")

    # -- validation --------------------------------------------------------------------

    def _validator(self, message: Message) -> Any:
        if message.validator is None and message.payload is not None:
            schema = self.node(message.payload)
            cls = validator_for(schema, default=Draft202012Validator) if isinstance(
                schema, dict) else Draft202012Validator
            # The payload by reference, so that its own $refs resolve from its file.
            message.validator = cls({"$ref": f"{message.payload.uri}#{message.payload.pointer}"},
                                    registry=self._registry)
        return message.validator

    def violations(self, message: Message, payload: Any) -> list[Violation]:
        validator = self._validator(message)
        if validator is None:  # a message without a payload schema takes any payload
            return []
        errors = sorted(validator.iter_errors(payload),
                        key=lambda e: (list(map(str, e.absolute_path)), list(map(str, e.path))))
        return [Violation(error.json_path, error.message,
                          self._schema_location(message.payload, list(error.schema_path)),
                          error.instance, len(error.absolute_path)) for error in errors]

    def _schema_location(self, start: Location | None, path: list[Any]) -> str:
        """``file#pointer`` of the failing keyword. jsonschema's schema path leaves the
        ``$ref``s it went through out, so a part the node lacks is looked up through its
        ``$ref``."""
        assert start is not None
        location = start
        try:
            location, node = self.resolve(location)
            for part in path:
                if isinstance(node, dict) and part not in node and "$ref" in node:
                    location, node = self.resolve(location)
                location = location.join(part)
                node = self.node(location)
        except (ValueError, KeyError, TypeError):
            return f"{self.show(start)} at {'/'.join(map(str, path))}"
        return self.show(location)

    def validate(self, payload: Any, messages: list[Message],
                 only: str | None = None) -> Outcome:
        """Which of ``messages`` (or the one named ``only``) ``payload`` matches; if none,
        the violations of the closest."""
        if only is not None:
            named = [m for m in messages if only in (m.name, m.node.get("name"))]
            if not named:
                raise ValueError(f"No message {only!r} among "
                                 f"{', '.join(m.name for m in messages) or 'no messages'}.")
            messages = named
        outcome = Outcome([m.name for m in messages])
        results = []
        for message in messages:
            found = self.violations(message, payload)
            if not found:
                outcome.matched = message.name
                return outcome
            results.append((message, found))
        # Closest: the fewest errors, then the one whose shallowest error lies deepest (the
        # payload got further into that schema, e.g. past its `type` constant).
        def distance(found: list[Violation]) -> tuple[int, int]:
            return len(found), -min(violation.depth for violation in found)

        if results:
            best = min(distance(found) for _, found in results)
            outcome.closest = {m.name: found for m, found in results
                               if distance(found) == best}
        return outcome

    def schema_files(self) -> set[Path]:
        """Every file reachable from the document through ``$ref``s."""
        seen: set[str] = set()
        todo = [self.uri]
        while todo:
            uri = todo.pop()
            if uri in seen:
                continue
            seen.add(uri)
            for ref in _refs(self._file(uri)):
                target = urldefrag(urljoin(uri, ref))[0]
                if target.startswith("file:"):
                    todo.append(target)
        return {Path(unquote(urlparse(uri).path)) for uri in seen}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []
