-- Per-person and per-chat state as key-value rows (bot.storage.state), and the durable intake
-- (bot.storage.intake): the same tables as the embedded SQLite file.
CREATE TABLE kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);

CREATE TABLE intake (
    update_id BIGINT PRIMARY KEY,
    received DOUBLE PRECISION NOT NULL,
    body TEXT  -- NULL: done
);

CREATE INDEX intake_pending ON intake (update_id) WHERE body IS NOT NULL;
