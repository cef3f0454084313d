"""The agent loop: a policy rewrites a copy of the baseline through confined tools, the
judge and the clock score what it hands back. A session is one such attempt, from its
start to its record, kept in runs/<run id>/.

Three floors; a module imports only its own floor and those below it
(tests/agent/test_floors.py checks it):

session/   one session, whatever plays it and whatever harness it runs on
    run_config.py  RunConfig: what a session is asked to do; run ids
    budget.py      Price (what a token costs), Budgets (limits), Spend (what was used)
    harness.py     what a session asks of the judge, the clock and records (a protocol)
    policy.py      what the loop asks of a policy (a protocol)
    api_errors.py  what an API failure means: asked again, compacted, or the end
    workspace.py   the confined workspace: list/read/write/edit, its solution hash
    snapshots.py   the states the judge and the clock saw, and which one is scored
    context.py     compaction: the conversation kept inside the model's context window
    transcript.py  the append-only JSONL transcript (fsync per event), reading and `show`
    tools.py       tool schemas and their execution (what the model may do)
    prompt.py      the task text, identical for every model
    scoring.py     the official evaluation of the chosen state, the outcome, the record
    resume.py      continuing a session from its transcript
    loop.py        Session: the turn loop (requests, stop reasons, tool calls, budgets)
policies/  who plays the turns
    models.py      what each Claude model accepts: thinking, effort, output and context
    prices.py      USD per million tokens per Claude model (the one price table)
    claude.py      the Claude policy (the streamed Messages API request, prompt caching)
    inspect_policy.py  an Inspect AI model as the policy (`.[inspect]`)
    library.py     the greedy non-LLM policy over the kernel library
    replay.py      plays a recorded transcript's responses (tests)
launch/    starting sessions for a caller: on the project's harness, in sweeps, in Inspect
    project_harness.py  the real judge, clock, records and kernel library (lazy imports)
    build.py       a session from what a caller asks: config, policy, new or resumed
    lease.py       the Ray timing lease: timed sections alone on their device
    sweep_plan.py  what a sweep will do: its runs, finished, to resume or new
    sweep.py       sweeps on Ray: every planned run a session in a Ray task
    inspect_task.py  the same session as an Inspect AI task, for any model Inspect supports

Depends on `baseline`, on `bench.records` for the solution hash, on `kernels.registry` for
the library policy's implementations, and on the judge and the clock only through
launch/project_harness.py, which imports them lazily. Nothing here imports the command
line; inspect-ai is imported only by the Inspect modules, which nothing else imports.
"""
