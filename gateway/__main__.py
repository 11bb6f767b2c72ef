"""Command line: ``python -m gateway serve --env ENV --config FILE`` and ``python -m gateway audit verify FILE|DIR``.

Bad input (a missing or invalid configuration, an environment without stack outputs) is one line
on stderr and exit 2; nothing is served, nothing forwarded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence



def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway", description="The DMZ gateway to Amazon Braket.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API and forward accepted tasks to Braket")
    serve.add_argument("--env", required=True, help="the environment whose stack outputs name the devices and bucket")
    serve.add_argument("--config", required=True, type=Path, help="the gateway's TOML configuration")
    audit = commands.add_parser("audit", help="the audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="check the hash chain of an audit log")
    verify.add_argument("file", type=Path, metavar="FILE|DIR",
                        help="a JSONL log, or a directory of shipped objects (*.jsonl, checked end to end in name order)")
    verify.add_argument("--head", help="the chain head the gateway recorded (default: read from --database)")
    verify.add_argument("--database", help="the gateway's database (a SQLite file or postgresql:// URL), whose recorded head the log must end with")
    export = audit_commands.add_parser("export", help="write the audit chain a PostgreSQL database keeps as a JSONL file")
    export.add_argument("--database", required=True, help="postgresql://...")
    export.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "audit" and args.audit_command == "export":
        return _export(args.database, args.file)
    if args.command == "audit":
        from .audit import verify_command

        return verify_command(args.file, head=args.head or _recorded_head(args.database))
    from .server import serve

    return serve(args.env, args.config)


def _export(database: str, path: Path) -> int:
    """The database's chain as JSONL (what ``verify`` checks), and the head it ends with."""
    from .store import StoreError, open_store

    try:
        store = open_store(database)
    except StoreError as error:
        print(f"gateway: {error}", file=sys.stderr)
        return 2
    try:
        if not hasattr(store, "export_audit"):
            print("gateway: --database keeps no audit chain (a SQLite gateway writes its JSONL log itself)", file=sys.stderr)
            return 2
        count = store.export_audit(path)
        head = store.audit_head()
    finally:
        store.close()
    print(f"exported {count} records to {path}, head {head[1] if head else '-'}")
    return 0


def _recorded_head(database: Optional[str]) -> Optional[str]:
    if not database:
        return None
    from .store import open_store

    store = open_store(database)
    try:
        head = store.audit_head()
    finally:
        store.close()
    return head[1] if head else None


if __name__ == "__main__":
    sys.exit(main())
