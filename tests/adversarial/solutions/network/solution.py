"""EXPLOIT: network access (to fetch weights, or report the inputs to a helper).
Caught by: the static scan (socket); at run time the audit hook refuses the socket
(forbidden_call)."""

import socket

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    try:
        socket.create_connection(("127.0.0.1", 9), timeout=1).close()
    except OSError as e:
        print("connect failed:", e)
    return reference_train(cfg, init, tokens, batches)
