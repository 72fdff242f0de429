"""What a load run does: where, how many connections, how fast, how long, what it sends."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from WebSocketLibrary.tlsoptions import MASK, TlsOptions, bearer_headers, redact_url

ID_PLACEHOLDER = "{id}"
TIME_PLACEHOLDER = "{timestamp}"
DEFAULT_MESSAGE = '{"type": "ping", "id": {id}, "timestamp": {timestamp}}'
DEFAULT_REPLY = "pong"


@dataclass
class LoadConfig:
    """A load run. Every connection sends ``rate`` messages per second for ``duration``.

    ``message`` is a text template: ``{id}`` becomes a number unique within the run (the
    reply carrying it in ``id_field`` is matched to it), ``{timestamp}`` the wall clock in
    ms. A reply whose ``type`` is ``reply_type`` and whose ``id_field`` is the message's id
    acknowledges it; one whose type is ``error_type`` with that id is an error reply.

    ``tick`` is the schedule's resolution: a message is due at the start of the tick its
    exact time falls in, and a worker wakes once per tick to send what is due and read
    what has arrived (fewer wake-ups: most of a generator's CPU on a virtual machine).
    0 sends each message at its own time and reads each reply the moment it arrives.

    ``idle_connections`` are opened besides the ``connections`` and send nothing: they
    read what the server sends and answer its pings, a population of quiet clients the
    server carries while the load runs (split between the workers like the others).

    ``token`` is sent as ``Authorization: Bearer <token>`` in every opening handshake;
    ``ca_bundle``, ``client_cert``, ``client_key`` and ``verify`` are the TLS options of
    a ``wss://`` URL (see WebSocketLibrary.tlsoptions). The config travels to worker processes
    as it is (each builds its own TLS context), but its ``repr``, ``to_dict`` and
    ``log_url`` never show the token, an ``Authorization`` header or a secret in the URL.
    """

    url: str
    connections: int = 1
    rate: float = 1.0
    duration: float = 10.0
    message: str = DEFAULT_MESSAGE
    reply_type: str = DEFAULT_REPLY
    id_field: str = "id"
    error_type: str = "error"
    warmup: float = 0.0
    drain_timeout: float = 5.0
    connect_timeout: float = 10.0
    connect_concurrency: int = 50
    processes: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    tick: float = 0.010
    progress_interval: float = 10.0
    name: str = "load"
    token: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    verify: bool = True
    secret_url: bool = False  # the URL was a Secret: log_url hides every query value
    idle_connections: int = 0

    def __post_init__(self) -> None:
        self.connections = int(self.connections)
        self.rate = float(self.rate)
        self.duration = float(self.duration)
        self.processes = int(self.processes)
        self.idle_connections = int(self.idle_connections)
        if self.connections < 1:
            raise ValueError(f"connections must be at least 1, got {self.connections}")
        if self.idle_connections < 0:
            raise ValueError(f"idle_connections must be 0 or more, got {self.idle_connections}")
        if self.rate <= 0:
            raise ValueError(f"rate must be positive, got {self.rate}")
        if self.duration <= 0:
            raise ValueError(f"duration must be positive, got {self.duration}")
        self.tick = float(self.tick)
        if not 0 <= self.tick <= 1:
            raise ValueError(f"tick must be between 0 and 1 s, got {self.tick}")
        if self.processes < 0:
            raise ValueError(f"processes must be 0 (a thread) or more, got {self.processes}")
        if ID_PLACEHOLDER not in self.message:
            raise ValueError(f"the message template needs the placeholder {ID_PLACEHOLDER} "
                             f"so that replies can be matched to it: {self.message}")
        if not self.url.startswith(("ws://", "wss://")):
            raise ValueError(f"not a WebSocket URL: {self.log_url}")
        self.handshake_headers()  # a token and an Authorization header: refused
        self.tls.context(self.url)  # missing files, unusable PEM: refused before any worker

    @property
    def tls(self) -> TlsOptions:
        return TlsOptions(self.ca_bundle, self.client_cert, self.client_key, self.verify)

    @property
    def log_url(self) -> str:
        """The URL with its secrets (``?token=`` …) as ``***``: the one to show."""
        return redact_url(self.url, every_parameter=self.secret_url)

    def handshake_headers(self) -> dict[str, str]:
        """The extra headers of every opening handshake, the token's included."""
        return bearer_headers(self.token, self.headers)

    @property
    def offered_rate(self) -> float:
        """Messages per second of the whole run."""
        return self.connections * self.rate

    @property
    def workers(self) -> int:
        """How many event loops run the load (a thread is one)."""
        return max(1, min(self.processes, self.connections))

    def share(self, worker: int) -> int:
        """Connections of ``worker``: as even a split as possible."""
        base, extra = divmod(self.connections, self.workers)
        return base + (1 if worker < extra else 0)

    def idle_share(self, worker: int) -> int:
        """Idle connections of ``worker``: the same even split as ``share``."""
        base, extra = divmod(self.idle_connections, self.workers)
        return base + (1 if worker < extra else 0)

    def to_dict(self) -> dict[str, Any]:
        """The settings, fit for a log: the token, an Authorization header and secrets in
        the URL show as ``***``."""
        data = asdict(self)
        data["url"] = self.log_url
        if self.token is not None:
            data["token"] = MASK
        data["headers"] = {name: MASK if name.lower() == "authorization" else value
                           for name, value in self.headers.items()}
        return data

    def __repr__(self) -> str:
        return f"LoadConfig({self.to_dict()})"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadConfig:
        return cls(**data)


def auto_processes() -> int:
    """One worker process per core."""
    return os.cpu_count() or 1
