"""`speedup`: the one entry point. Each subcommand lives in `speedup/commands/<name>.py` and
defines HELP, add_arguments(parser) and run(args) -> exit code."""

from __future__ import annotations

import argparse
import importlib
import sys

from speedup.ui import UsageError, add_calibration_arguments, console, tolerance_source

COMMANDS = ["train", "check", "calibrate", "bench", "bench-kernels", "verify", "leaderboard",
            "agent", "sweep", "run"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr and exit code 2."""

    def error(self, message: str) -> None:
        console.print(f"{self.prog}: error: {message}", markup=False)
        raise SystemExit(2)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only `command`'s options are built: building them all imports torch, for
    the preset and slot names, and `speedup --help` then waits seconds for it (this way it
    takes 0.14-0.17 s, bench/measurements/2026-12-01-startup-costs.json)."""
    parser = _Parser(prog="speedup", description=(
        "Speedup Bench: how much faster can an agent make the code that trains a small "
        "language model, while it still computes the same training?"))
    add_calibration_arguments(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"speedup.commands.{name.replace('-', '_')}")
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == command:
            module.add_arguments(p)
            add_calibration_arguments(p, top_level=False)
        p.set_defaults(_run=module.run)
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command's arguments, `command_line`: the command as the user typed it, which its
    records name, and `tolerance_source`: the one correctness.tolerances.Source that
    --tolerances names, which the command hands to everything that looks thresholds up or
    writes them. UsageError for a --tolerances path that cannot be a file."""
    from bench.official import command_line

    args = build_parser(_command(argv)).parse_args(argv)
    args.command_line = command_line(argv)
    args.tolerance_source = tolerance_source(args.tolerances)
    return args


def main(argv: list[str] | None = None) -> int:
    from correctness import tolerances

    try:
        argv = sys.argv[1:] if argv is None else argv
        args = parse_args(argv)
        return int(args._run(args) or 0)
    except (UsageError, tolerances.ToleranceError) as e:
        console.print(f"speedup: error: {e}", markup=False)
        return 2
    except KeyboardInterrupt:
        console.print("speedup: interrupted", markup=False)
        return 130


def _command(argv: list[str]) -> str | None:
    """The subcommand's name: the first word that is not a global option or its value."""
    words = iter(argv)
    for word in words:
        if word == "--tolerances":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


if __name__ == "__main__":
    sys.exit(main())
