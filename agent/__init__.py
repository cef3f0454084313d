"""The agent loop: a policy rewrites a copy of the baseline through confined tools, the
judge and the clock score what it hands back. A session is one such attempt, from its
start to its record, kept in runs/<run id>/.

    prices.py     USD per million tokens per model (the one price table)
    models.py     what each Claude model accepts: thinking, effort, output and context limits
    budget.py     Budgets (limits) and Spend (what a session used so far)
    run_config.py RunConfig: what a session is asked to do; run ids
    workspace.py  the confined workspace: list/read/write/edit, its solution hash
    harness.py    the one adapter to the judge, the clock, records and the kernel library
    tools.py      tool schemas and their execution (what the model may do)
    prompt.py     the task text, identical for every model
    transcript.py the append-only JSONL transcript (fsync per event), reading and `show`
    policy.py     what the loop asks of a policy
    claude.py     the Claude policy (the streamed Messages API request, prompt caching)
    api_errors.py what an API failure means: asked again, compacted, or the end (no record)
    context.py    compaction: the conversation kept inside the model's context window
    library.py    the greedy non-LLM policy over the kernel library
    replay.py     plays a recorded transcript's responses (tests)
    inspect_policy.py, inspect_task.py   the same session as an Inspect AI task
                  (`.[inspect]`), for any model Inspect supports
    snapshots.py  the states the judge and the clock saw, and which one is scored
    session.py    the turn loop: requests, stop reasons, tool calls, budgets
    resume.py     continuing a session from its transcript
    scoring.py    the official evaluation of the chosen state, the outcome, the record
    build.py      a session from what a caller asks: config, policy, new or resumed

Depends on `baseline`, on `bench.records` for the solution hash, on `kernels.registry` for
the library policy's implementations, and on the judge and the clock only through
`harness.py`, which imports them lazily. Nothing here imports the command line; inspect-ai
is imported only by the Inspect modules, which nothing else imports.
"""
