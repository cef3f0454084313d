"""The child side of the sandbox: the code that runs inside a sandboxed process, before and
around a solution. `main.main()` runs in a fresh interpreter (`python -I -B -u -c "from
correctness.child.main import main; main()" harness.json`), inside the run's namespaces
where the machine allows them; the judge imports only two of these modules, which it
shares with trusted code:
`loader` (the one way a solution directory is imported) and `kernel_calls` (calling a slot
implementation on the judge's inputs).

    main          the order of a run: limits, libraries, guards, the solution, the protocol
    limits        resource limits and process flags, set while only trusted code runs
    audit         the audit hook: files, processes, sockets, introspection
    loader        the import blocker, importing a solution, checking `train`
    modes         train / profile / kernels: what happens between `go` and `done`
    kernel_calls  forward + backward (or AdamW's steps) of one implementation, poisoned

Only the standard library, torch, numpy, safetensors and `correctness.protocol` (the
run's spec and file names, shared with the judge) are imported here: inside the namespaces
nothing else of the project is visible.
"""
