"""Who does what when several replicas share one database: leases, and jobs that run once.

A lease is a row in `leases` (name, owner, until): its owner holds it until `until`, and renews it while it
lives; once it has lapsed, anyone may take it. Two kinds are used:

- `chat:<id>`: the replica holding it handles that chat's stored updates, one after another in update-id
  order, so that a chat's updates are handled once and in order whichever replica received them. A replica
  that dies (even after answering Telegram's 200 and before handling) stops renewing; when its leases lapse,
  the others find the chats' stored updates without a live lease and take them over.
- `poller`: the one replica allowed to call getUpdates (Telegram allows one consumer).

Handing a chat back is guarded: the lease is only deleted while none of the chat's updates waits, in the
same statement. A replica that stored an update a moment later either is seen by that statement, or finds
the lease gone and takes it; no update is left without someone to handle it (and if it were, the periodic
search for chats without a live lease would find it).

`once(name)` is true for exactly one caller across replicas: the check-expiry note, the daily retention and
the hourly intake purge claim their name for their time slot first.

Times are Unix seconds from the replicas' clocks (kept within milliseconds of each other by NTP); leases
last seconds, so that is close enough. The same SQL serves SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from bot.storage.intake import Transactional

POLLER = "poller"
LAPSED_SECONDS = 60.0  # a lease this long past its end belongs to a replica that is gone
KEEP_ONCE_SECONDS = 7 * 24 * 3600  # a job's claim is kept a week: longer than any slot it names


def chat_lease(chat_key: int) -> str:
    return f"chat:{chat_key}"


class Claims:
    """Leases and once-only jobs in the state's own database. `owner` names this replica; the SQL is
    written once, with `?` placeholders that `placeholders` turns into the driver's."""

    def __init__(
        self,
        storage: Transactional,
        owner: str,
        lease_seconds: float,
        placeholders: Callable[[str], str] = str,
        clock: Callable[[], float] = time.time,
        poller_seconds: float | None = None,
    ) -> None:
        self.storage = storage
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.poller_seconds = lease_seconds if poller_seconds is None else poller_seconds
        self._sql = placeholders
        self._clock = clock

    def _seconds(self, name: str) -> float:
        return self.poller_seconds if name == POLLER else self.lease_seconds

    def _take(self, names: Iterable[str]) -> list[str]:
        """Take or renew these leases, in one transaction: the names this replica holds now."""
        now = self._clock()
        sql = self._sql(
            "INSERT INTO leases (name, owner, until) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE"
            " SET owner = excluded.owner, until = excluded.until"
            " WHERE leases.owner = excluded.owner OR leases.until < ?"
        )
        with self.storage.transaction() as db:
            return [
                name
                for name in dict.fromkeys(names)
                if db.execute(sql, (name, self.owner, now + self._seconds(name), now)).rowcount
            ]

    def hold(self, name: str) -> bool:
        """Take or renew the lease `name`: true when this replica holds it now."""
        return bool(self._take([name]))

    def hold_chats(self, chat_keys: Iterable[int]) -> list[int]:
        """Take or renew the leases of these chats: the ones this replica holds now."""
        keys = {chat_lease(key): key for key in chat_keys}
        return [keys[name] for name in self._take(keys)]

    def renew(self) -> int:
        """Push back the end of every lease this replica holds; how many it holds. Leases that lapsed
        a while ago (their replica died) are deleted: a chat's id is kept no longer than it is needed."""
        now = self._clock()
        with self.storage.transaction() as db:
            db.execute(self._sql("DELETE FROM leases WHERE until < ?"), (now - LAPSED_SECONDS,))
            cursor = db.execute(
                self._sql("UPDATE leases SET until = CASE WHEN name = ? THEN ? ELSE ? END WHERE owner = ?"),
                (POLLER, now + self.poller_seconds, now + self.lease_seconds, self.owner),
            )
        return int(cursor.rowcount)

    def release_chat(self, chat_key: int) -> bool:
        """Hand a chat back, unless one of its updates is waiting: true when it was handed back."""
        with self.storage.transaction() as db:
            cursor = db.execute(
                self._sql(
                    "DELETE FROM leases WHERE name = ? AND owner = ? AND NOT EXISTS"
                    " (SELECT 1 FROM intake WHERE chat_key = ? AND body IS NOT NULL)"
                ),
                (chat_lease(chat_key), self.owner, chat_key),
            )
        return bool(cursor.rowcount)

    def release(self, name: str) -> None:
        with self.storage.transaction() as db:
            db.execute(self._sql("DELETE FROM leases WHERE name = ? AND owner = ?"), (name, self.owner))

    def release_all(self) -> None:
        """At a clean stop: the others may take this replica's chats at once, not after the lease."""
        with self.storage.transaction() as db:
            db.execute(self._sql("DELETE FROM leases WHERE owner = ?"), (self.owner,))

    def clear(self) -> None:
        """Forget every lease: for the embedded file, which one process uses at a time, at its start."""
        with self.storage.transaction() as db:
            db.execute("DELETE FROM leases")

    def unattended_chats(self, limit: int = 100) -> list[int]:
        """Chats with a waiting update and no live lease, or a lease of this replica's (whose updates it
        may have failed to mark done): oldest waiting update first."""
        with self.storage.transaction() as db:
            rows = db.execute(
                self._sql(
                    "SELECT chat_key, MIN(update_id) AS first FROM intake i WHERE body IS NOT NULL"
                    " AND NOT EXISTS (SELECT 1 FROM leases l"
                    " WHERE l.name = 'chat:' || CAST(i.chat_key AS TEXT) AND l.until >= ? AND l.owner <> ?)"
                    " GROUP BY chat_key ORDER BY first LIMIT ?"
                ),
                (self._clock(), self.owner, limit),
            ).fetchall()
        return [int(chat_key) for chat_key, _ in rows]

    def once(self, name: str) -> bool:
        """True for exactly one caller of this name, across replicas and restarts (for a week)."""
        now = self._clock()
        with self.storage.transaction() as db:
            db.execute(self._sql("DELETE FROM once WHERE at < ?"), (now - KEEP_ONCE_SECONDS,))
            cursor = db.execute(
                self._sql("INSERT INTO once (name, at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"),
                (name, now),
            )
        return bool(cursor.rowcount)
