"""The agent loop: a policy rewrites a copy of the baseline through confined tools, the
judge and the clock score what it hands back.

    prices.py     USD per million tokens per model (the one price table)
    budget.py     Budgets (limits) and Spend (what a run used so far)
    workspace.py  the confined workspace: list/read/write/edit, content hash
    harness.py    the one adapter to the judge, the clock, records and the kernel library
    tools.py      tool schemas and their execution (what the model may do)
    prompt.py     the task text, identical for every model
    transcript.py the append-only JSONL transcript (fsync per event), reading and `show`
    policy.py     what the loop asks of a policy
    claude.py     the Claude policy (Messages API, tool use, prompt caching, thinking)
    library.py    the greedy non-LLM policy over the kernel library
    replay.py     plays a recorded transcript's responses (tests)
    session.py    the loop: turns, budgets, stop reasons, snapshots, resume, scoring

Depends on `baseline` directly and on `correctness`/`bench`/`kernels` only through
`harness.py`, which imports them lazily.
"""
