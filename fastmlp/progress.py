"""A dependency-free progress bar for long epochs (written to stderr)."""

import sys
import time


class ProgressBar:
    """Call ``update(done)`` after each chunk; ``close()`` ends the line. Each redraw covers
    the whole previous text, so a shorter one leaves nothing of it behind.

    Redraws at most ~10 times a second so reporting stays far below 1% of training time.
    """

    def __init__(self, total, desc="", stream=None, width=30):
        self.total = max(int(total), 1)
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.start = time.perf_counter()
        self._last = 0.0
        self._shown = 0  # length of the text on the line now

    def update(self, done, force=False):
        now = time.perf_counter()
        if not force and now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        frac = min(done / self.total, 1.0)
        filled = int(round(frac * self.width))
        elapsed = now - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        bar = "#" * filled + "-" * (self.width - filled)
        text = f"{self.desc} [{bar}] {done}/{self.total} {rate:,.0f} samples/s"
        # spaces over the end of a longer earlier text (a rate with fewer digits would leave
        # its tail, e.g. "samples/ss", on screen): works on any terminal and in a file
        self.stream.write(f"\r{text}{' ' * (self._shown - len(text))}")
        self._shown = len(text)
        self.stream.flush()

    def close(self):
        self.update(self.total, force=True)
        self.stream.write("\n")
        self.stream.flush()
