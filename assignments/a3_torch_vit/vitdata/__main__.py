"""python -m vitdata fetch [mnist|cifar10|all] [--mirror PATH] [--data-dir DIR] [--force]
python -m vitdata info [mnist|cifar10|all] [--data-dir DIR] [--verify] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from . import cache, spec
from .errors import DatasetCorruptError, DatasetMissingError
from .fetching import fetch
from .paths import data_root


def _names(which: str) -> list[str]:
    return list(spec.NAMES) if which == "all" else [spec.check_name(which)]


def cmd_fetch(args) -> int:
    start, failed = time.time(), 0
    print(f"vitdata: cache root {data_root(args.data_dir)}")
    for name in _names(args.name):
        try:
            fetch(name, mirror=args.mirror, data_dir=args.data_dir, force=args.force, workers=args.workers)
        except (DatasetMissingError, DatasetCorruptError) as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
    print(f"vitdata: {'failed' if failed else 'done'} in {time.time() - start:.1f} s")
    return 1 if failed else 0


def cmd_info(args) -> int:
    status = 0
    for name in _names(args.name):
        try:
            meta = cache.read_meta(name, args.data_dir)
        except (DatasetMissingError, DatasetCorruptError) as e:
            print(f"{spec.PLAIN_NAME[name]}: {e}")
            status = 1
            continue
        if args.verify:
            bad = cache.verify(meta)
            meta["cache_verified"] = not bad
            status = status or (1 if bad else 0)
        if args.json:
            print(json.dumps(meta, indent=2, sort_keys=True))
            continue
        print(f"{meta['display_name']}: {meta['cache']}")
        print(f"  source: {meta['source']} ({meta['source_kind']}, "
              f"{'official files' if meta['official'] else 'not official'}, {meta['origin']})")
        print(f"  counts: train {meta['counts']['train']}, test {meta['counts']['test']}; "
              f"created {meta['created']}")
        for fname, record in meta["checksums"].items():
            digest = (f"md5 {record.get('md5_uncompressed') or record['md5']}" if record["official"]
                      else f"sha256 {record['sha256']}")
            print(f"  {fname}: {digest} ({record['check']})")
        if args.verify:
            print(f"  cache arrays: {'sha256 OK' if meta['cache_verified'] else 'DAMAGED: ' + ', '.join(bad)}")
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vitdata", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fetch", help="download or import, verify and cache a dataset")
    p.add_argument("name", nargs="?", default="all", choices=[*spec.NAMES, "all"])
    p.add_argument("--mirror", help="local mirror: a folder or a .tar.gz (default: $VITLAB_MIRROR, "
                                    "else download the official files)")
    p.add_argument("--data-dir", help="cache root (default: $VITLAB_DATA, <kit>/datasets/data "
                                      "or ~/.cache/vitlab/datasets)")
    p.add_argument("--force", action="store_true", help="import again even if cached")
    p.add_argument("--workers", type=int, default=None, help="processes decoding images (default 2)")
    p.set_defaults(run=cmd_fetch)
    p = sub.add_parser("info", help="show what the cache holds and where it came from")
    p.add_argument("name", nargs="?", default="all", choices=[*spec.NAMES, "all"])
    p.add_argument("--data-dir")
    p.add_argument("--verify", action="store_true", help="recompute the cache arrays' sha256")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_info)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
