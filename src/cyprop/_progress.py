"""The progress bar of Network.fit: tqdm when installed, else a plain one.

Network.fit updates it between kernel calls only, growing the number of
epochs per call until a call takes ~50 ms, so the bar costs well under 1%
of a run.
"""

import sys
import time


class ProgressBar:
    """Epoch counter with the latest loss; ``update(n, loss)``, ``close()``."""

    def __init__(self, total, file=None):
        self.total = total
        self.done = 0
        self._closed = False
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self._tqdm = None
            self._file = file if file is not None else sys.stderr
            self._started = time.perf_counter()
        else:
            self._tqdm = tqdm(total=total, unit="epoch", file=file)

    def update(self, n, loss):
        self.done += n
        if self._tqdm is not None:
            self._tqdm.update(n)
            self._tqdm.set_postfix(loss=f"{loss:.4g}", refresh=False)
            return
        width = 30
        filled = int(width * self.done / self.total)
        elapsed = time.perf_counter() - self._started
        self._file.write(f"\r[{'#' * filled}{'.' * (width - filled)}] epoch {self.done}/{self.total}"
                         f"  loss {loss:.4g}  {elapsed:.1f}s")
        self._file.flush()

    def close(self):
        if self._closed:
            return
        self._closed = True
        if self._tqdm is not None:
            self._tqdm.close()
        else:
            self._file.write("\n")
            self._file.flush()
