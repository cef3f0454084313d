"""The agent loop: a policy rewrites a copy of the baseline through confined tools, the
judge and the clock score what it hands back. A session is one such attempt, from its
start to its record, kept in its run's directory, runs/<run id>/.

Three floors; a module imports only its own floor and those below it
(tests/agent/test_floors.py checks it):

session/   one session, whoever plays it and whatever harness it runs on
    run_dir.py     RunDir: the layout of runs/<run id>/ and its record marker and lock
    run_config.py  RunConfig: what a session is asked to do; run ids
    budget.py      Price (what a token costs), Budgets (limits), Spend (what was used)
    harness.py     the Harness protocol: what a session asks of judge, clock and records
    policy.py      the Policy protocol: what the loop asks of whoever plays the turns
    api_errors.py  what an API failure means: asked again, compacted, or the end
    workspace.py   the confined workspace: list/read/write/edit, its solution hash
    snapshots.py   the states the judge and the clock saw, and which one is scored
    context.py     compaction: the conversation kept inside the model's context window
    transcript.py  the append-only JSONL transcript (fsync per event), reading and `show`
    tools.py       tool schemas and their execution (what the model may do)
    prompt.py      the task text, identical for every model
    scoring.py     the official evaluation of the chosen state, the outcome, the record
    resume.py      a session's state rebuilt from its transcript after its last turn
    loop.py        Session: the turn loop (requests, stop reasons, tool calls, budgets)
policies/  who plays the turns
    models.py      what each Claude model accepts: thinking, effort, output and context
    prices.py      USD per million tokens per Claude model (the one price table)
    claude.py      the Claude policy (the streamed Messages API request, prompt caching)
    inspect_policy.py  an Inspect AI model as the policy (`.[inspect]`)
    library.py     the greedy non-LLM policy over the kernel library
    replay.py      plays a recorded transcript's responses (tests)
launch/    sessions for a caller: on the project's harness, in a sweep, under Inspect
    project_harness.py  the real judge, clock, records and kernel library (lazy imports)
    build.py       a run's config and policy from what a caller asks; the one way to
                   start a session and the one way to resume it
    gate.py        which harness calls are timed sections, and the one wrapper that
                   passes them through a gate (the lease, or one lock per process)
    lease.py       the Ray timing lease: a timed section alone on its device
    sweep_plan.py  what a sweep will do: its runs, each finished, to resume or new
    sweep.py       sweeps on Ray: every planned run a session in a Ray task
    inspect_task.py  the same session as an Inspect AI task, for any model Inspect runs

Below agent/ it uses `baseline` (presets, slots), `correctness.solution` (a solution's
files and hash), `correctness.sandbox` (the reference program a workspace starts as) and
the static scan's allowlist (the prompt); the judge, the clock and records themselves only
through launch/project_harness.py, lazily. A sweep's Ray tasks (lease.py, sweep.py) also
select the tolerances the driver chose and lock this machine's device slot. Nothing here
imports the command line; inspect-ai is imported only by the two Inspect modules, ray only
through launch/lease.py.
"""
