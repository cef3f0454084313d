"""The judge: is a solution's training the same as the baseline's, and can it be trusted?

    sandbox         the only way a solution runs: a fresh child process per run, the
                    ready/go/done protocol, the parent's clock (`run_solution`)
    static_scan     the AST scan before anything runs (`scan`)
    training_check  the training checks on a secret seed (`check_training`, `compare`)
    tolerances      the calibrated thresholds (`load`), written by `calibrate`
    kernel_check    one slot implementation against the float64 reference

Nothing is imported here: `sandbox` runs `_child.py` as a script, and a solution must not
reach the judge through this package.
"""
