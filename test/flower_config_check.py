"""flower_config_check.py CONFIG: CONFIG (a --node-config/--run-config string, or a .toml file)
through Flower's own parser, flwr.common.config.parse_config_args, compared with the JSON
object on stdin, {key: [python type name, value]}. Exit 0 when every key has exactly that type
and value; otherwise print what differs, with the Flower version, and exit 1."""

import importlib.metadata
import json
import sys

from flwr.common.config import parse_config_args


def main() -> int:
    want = json.load(sys.stdin)
    version = importlib.metadata.version("flwr")
    try:
        got = parse_config_args([sys.argv[1]])
    except BaseException as err:  # typer.Exit / click.ClickException: Flower refused it
        print(f"Flower {version} refused {sys.argv[1]!r}: {err!r}")
        return 1
    bad = []
    for key in sorted(set(want) | set(got)):
        if key not in got:
            bad.append(f"{key}: missing")
        elif key not in want:
            bad.append(f"{key}: unexpected {got[key]!r}")
        else:
            kind, value = want[key]
            # True == 1 and 1 == 1.0 in Python: the type is compared first.
            if type(got[key]).__name__ != kind or got[key] != value:
                bad.append(f"{key}: got {type(got[key]).__name__} {got[key]!r}, want {kind} {value!r}")
    for line in bad:
        print(f"Flower {version}: {line}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
