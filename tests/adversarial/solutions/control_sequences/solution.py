"""EXPLOIT: terminal control sequences in the run's output and in its error message: a fake
PASSED line, then SGR 8 (conceal) so the real verdict is hidden on most terminals, a
carriage return that overwrites a line, 8-bit CSI, and an OSC that sets the window title.
The judge echoed the output tail and the message as they came.
Caught by: the judge strips control sequences from any run text it shows."""

CONCEAL = "\x1b[8m"
TITLE = "\x1b]0;speedup: PASSED\x07"


def train(cfg, init, tokens, batches):
    print("check: PASSED (1.00x)" + CONCEAL, flush=True)
    print("overwritten\rclean line" + TITLE + "\x9b2J" + "\x1bc", flush=True)
    raise RuntimeError("failure" + CONCEAL + TITLE + "\x1b[1;31mred\x1b[0m\x00\x07")
