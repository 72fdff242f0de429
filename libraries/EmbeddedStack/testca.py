"""``python -m EmbeddedStack.testca DIR``: a throwaway CA for a TLS test setup.

Writes into DIR (created if need be), all in PEM:

- ``ca.pem``: the CA's certificate, to trust (``ca_bundle`` of the libraries,
  ``TLS_CLIENT_CA_FILE`` of the reference system),
- ``server.pem`` and ``server.key``: a server certificate chain for 127.0.0.1 and
  localhost and its key (``TLS_CERT_FILE``, ``TLS_KEY_FILE``),
- ``client.pem`` and ``client.key``: a client certificate signed by the same CA and its key
  (``client_cert``, ``client_key``),

and prints a JSON object of their paths: ``{"ca_bundle": …, "server_cert": …,
"server_key": …, "client_cert": …, "client_key": …}``. Keys are written with mode 0600. The
CA's own key is never written: nothing else can be signed by it once this has run. Made with
trustme (requirements-dev.txt); for tests only, never for a deployment, and never committed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_HOSTS = ("127.0.0.1", "localhost")
CLIENT_NAME = "acceptance-client"
CLIENT_EMAIL = "acceptance-client@dashboards.test"


def _write(path: Path, data: bytes, mode: int) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as out:
        os.fchmod(out.fileno(), mode)  # also when the file was there before
        out.write(data)


def write_test_ca(directory: Path | str,
                  hosts: Sequence[str] = DEFAULT_HOSTS) -> dict[str, str]:
    """Writes the CA, server and client files into ``directory``; returns their paths."""
    import trustme

    target = Path(directory).resolve()
    target.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="dashboards acceptance test CA")
    server = ca.issue_cert(*hosts)
    client = ca.issue_cert(CLIENT_EMAIL, common_name=CLIENT_NAME)
    paths = {"ca_bundle": target / "ca.pem", "server_cert": target / "server.pem",
             "server_key": target / "server.key", "client_cert": target / "client.pem",
             "client_key": target / "client.key"}
    _write(paths["ca_bundle"], ca.cert_pem.bytes(), 0o644)
    _write(paths["server_cert"], b"".join(blob.bytes() for blob in server.cert_chain_pems),
           0o644)
    _write(paths["server_key"], server.private_key_pem.bytes(), 0o600)
    _write(paths["client_cert"], b"".join(blob.bytes() for blob in client.cert_chain_pems),
           0o644)
    _write(paths["client_key"], client.private_key_pem.bytes(), 0o600)
    return {name: str(path) for name, path in paths.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m EmbeddedStack.testca",
        description="Write a throwaway test CA, a server certificate and a client "
                    "certificate (PEM) into DIR and print their paths as JSON.")
    parser.add_argument("directory", metavar="DIR")
    parser.add_argument("--host", action="append", default=[],
                        help="a name or IP address of the server certificate (repeatable; "
                             "default: 127.0.0.1 and localhost)")
    args = parser.parse_args(argv)
    try:
        paths = write_test_ca(args.directory, args.host or DEFAULT_HOSTS)
    except ImportError:
        print("error: trustme is not installed (pip install -r requirements-dev.txt)",
              file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write into {args.directory}: {error}", file=sys.stderr)
        return 2
    print(json.dumps(paths, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
