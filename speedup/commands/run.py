"""The main job on a fresh machine: an agent session (by default the offline `library`
policy, which binds each kernel slot to the kernel library's implementation when the judge
passes it and the clock says it is faster), then the official evaluation of the result,
its record in your results folder, and the leaderboard, where your run has its own row
beside the shipped reference records. On a CPU it runs the `tiny` preset unless --preset
says otherwise, in a few minutes. It ends with your speedup, its interval, where it stands
among the shipped references, and the paths of the record and of the leaderboard. Examples:

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


def run(args: argparse.Namespace) -> int:
    from speedup.commands.agent import resume_command, run_session, start_session

    session = start_session(args, banner="speedup run")
    return run_session(session, resume_command(args, session.config.run_id), args.out)
