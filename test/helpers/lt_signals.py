"""Signals for the libtorrent helper scripts: SIGTERM/SIGINT ask the main loop to stop,
SIGUSR1 asks it to announce again. Read as `signals.stop` and `signals.poke`."""
import signal


class Signals:
    def __init__(self):
        self.stop = False
        self.poke = False
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGUSR1, self._on_poke)

    def _on_stop(self, *_):
        self.stop = True

    def _on_poke(self, *_):
        self.poke = True
