"""The main job on a fresh machine: an agent session (by default the offline `library`
policy, which binds each kernel slot to the kernel library's implementation when the judge
passes it and the clock says it is faster), then the official evaluation of the result,
its record in your results folder, and the leaderboard, where your run has its own row
beside the shipped reference records. On a CPU it runs the `tiny` preset unless --preset
says otherwise, in a few minutes. It ends with your speedup, its interval, where it stands
among the shipped references, and the paths of the record and of the leaderboard.

Ctrl-C stops the run where it is and prints the command that continues it. When the last
run in --runs-dir was stopped that way, the next `speedup run` asks once, on a terminal,
whether to continue it instead of starting anew (elsewhere it says how, and starts anew);
--resume-last continues it without asking. Examples:

    speedup run
    speedup run --preset cpu
    speedup run --resume-last
    speedup run --policy claude --model claude-sonnet-5-5 --max-dollars 5
"""

from __future__ import annotations

import argparse

HELP = "the main job: an agent session (offline library policy), its official evaluation, " \
       "the leaderboard"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from speedup.commands.agent import add_resume_defaults, add_session_arguments

    add_session_arguments(p, default_policy="library")
    p.add_argument("--resume-last", action="store_true",
                   help="continue the last run in --runs-dir, which was interrupted, without "
                        "asking (the request and budget options given here apply from its "
                        "next request)")
    add_resume_defaults(p)


def run(args: argparse.Namespace) -> int:
    from speedup.commands.agent import resume, resume_command, run_session, start_session
    from speedup.ui import console

    run_dir = _interrupted(args)
    if run_dir is not None:
        console.print(f"speedup run: continuing run {run_dir.run_id}", markup=False)
        return run_session(resume(run_dir, args), resume_command(args, run_dir.run_id),
                           args.out)
    session = start_session(args, banner="speedup run")
    return run_session(session, resume_command(args, session.config.run_id), args.out)


def _interrupted(args: argparse.Namespace):
    """The run to continue, if any: the last one in the runs folder when it is unfinished
    and --resume-last says so or a terminal's user does (asked once, y/N). Without a
    terminal, or when the options given ask for another run (another preset, policy, ...:
    those a resume refuses), a line says how to continue it and a new run starts."""
    import sys

    from speedup.commands.agent import asks_another_run
    from speedup.ui import UsageError, console

    last = last_unfinished(args.runs_dir)
    if args.resume_last:
        if last is None:
            raise UsageError(f"no interrupted run to continue: the last run in "
                             f"{args.runs_dir}/ is finished, or there is none")
        return last
    if last is None:
        return None
    if not sys.stdin.isatty() or asks_another_run(last, args):
        console.print(f"run {last.run_id} was interrupted; `speedup run --resume-last` "
                      f"continues it. Starting a new run.", markup=False)
        return None
    console.print(f"run {last.run_id} was interrupted. Continue it instead of starting a new "
                  f"run? [y/N] ", markup=False, end="")
    answer = sys.stdin.readline().strip().lower()
    return last if answer in ("y", "yes") else None


def last_unfinished(runs_dir: str):
    """The run in runs_dir that was active last (its transcript written last), when it can
    be continued: no record yet, started here (not under Inspect AI); else None."""
    from pathlib import Path

    from agent.session.resume import ResumeError, check_resumable, read_config
    from agent.session.run_dir import RunDir

    runs = [RunDir(p) for p in Path(runs_dir).glob("*/") if RunDir(p).transcript.is_file()]
    if not runs:
        return None
    last = max(runs, key=lambda r: r.transcript.stat().st_mtime_ns)
    try:
        check_resumable(last)
        resumable = read_config(last).policy != "inspect"
    except ResumeError:
        return None
    return last if resumable else None
