"""EXPLOIT: two million forged `refused` lines on the status pipe (its descriptor is named
in the harness's config, which the child reads): the judge kept every one in a list and
grew by more than a gigabyte.
Caught by: the judge keeps a bounded number of refusals (the rest only counted) and reads
a bounded number of bytes and lines of bounded length from the pipe."""

import json
import os
import sys

LINE = b'refused {"event": "open", "detail": "/forged/path", "why": "forged"}\n'


def train(cfg, init, tokens, batches):
    with open(sys.argv[-1]) as f:
        status_fd = json.load(f)["status_fd"]
    chunk = LINE * 10_000
    try:
        for _ in range(200):  # 2,000,000 lines
            os.write(status_fd, chunk)
    except OSError as e:
        print(f"WRITE FAILED {type(e).__name__}", flush=True)
    return {"state_dict": dict(init), "losses": [1.0] * cfg["steps"]}
