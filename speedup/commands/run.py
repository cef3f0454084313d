"""The main job on a fresh machine: an agent session (by default the offline `library`
policy, which binds each kernel slot to the kernel library's implementation when the judge
passes it and the clock says it is faster), then the official evaluation of the result,
its record in results/, and the leaderboard. On a CPU it runs the `tiny` preset unless
--preset says otherwise, in a few minutes. Examples:

    speedup run
    speedup run --preset cpu
    speedup run --policy claude --model claude-sonnet-5-5 --max-dollars 5
"""

from __future__ import annotations

import argparse

HELP = "the main job: an agent session (offline library policy), its official evaluation, " \
       "the leaderboard"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from speedup.commands.agent import add_session_arguments

    add_session_arguments(p, default_policy="library")
    p.add_argument("--out", default=".", metavar="DIR",
                   help="where leaderboard.md and leaderboard.html go (default: here)")


def run(args: argparse.Namespace) -> int:
    from speedup.commands.agent import resume_command, run_session, start_session
    from speedup.commands.leaderboard import publish

    session = start_session(args, banner="speedup run")
    # the leaderboard is published before the run's score, so the score is the last line
    return run_session(session, resume_command(args, session.config.run_id),
                       then=lambda: publish(args.results_dir, args.out))
