"""What the viewers look at, shared between whoever hears it and the engine that uses it."""

import threading


class FocusBox:
    """The latest focus of every viewer of one study, merged most recent viewer first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_viewer: dict[str, tuple[tuple[str, ...], dict[str, int]]] = {}

    def set(
        self, series: tuple[str, ...] | list[str], positions: dict[str, int], viewer: str = ""
    ) -> None:
        """Replace ``viewer``'s focus with what it just reported (it becomes the most recent)."""
        with self._lock:
            self._by_viewer.pop(viewer, None)
            self._by_viewer[viewer] = (tuple(series), dict(positions))

    def forget(self, viewer: str) -> None:
        """A viewer closed the study: its focus no longer counts."""
        with self._lock:
            self._by_viewer.pop(viewer, None)

    def get(self) -> tuple[tuple[str, ...], dict[str, int]]:
        """Focused series, most recently reported first, and the listing position of the
        image shown in each."""
        with self._lock:
            recent_first = list(reversed(self._by_viewer.values()))
        series = tuple(dict.fromkeys(uid for focused, _ in recent_first for uid in focused))
        positions: dict[str, int] = {}
        for _, shown in recent_first:
            for uid, position in shown.items():
                positions.setdefault(uid, position)
        return series, positions
