-- Several replicas on one database (bot.storage.claims): each chat's updates are handled by the replica
-- holding that chat's lease, in order; one replica holds the `poller` lease and polls; a job that must run
-- once across replicas claims its name in `once`; question ids come from a sequence, so that replicas
-- never hand out the same one; the deployment's salt is kept here, so that every replica names a person
-- the same way.
ALTER TABLE intake ADD COLUMN chat_key BIGINT NOT NULL DEFAULT 0;
CREATE INDEX intake_pending_chat ON intake (chat_key, update_id) WHERE body IS NOT NULL;

CREATE TABLE leases (
    name TEXT PRIMARY KEY,  -- 'chat:<id>' or 'poller'
    owner TEXT NOT NULL,  -- the replica holding it
    until DOUBLE PRECISION NOT NULL  -- when it lapses unless renewed (Unix time)
);
CREATE INDEX leases_owner ON leases (owner);

CREATE TABLE once (
    name TEXT PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL
);

CREATE SEQUENCE question_ids;
SELECT setval('question_ids', (SELECT COALESCE(MAX(id), 0) + 1 FROM analytics_questions), false);

CREATE TABLE deployment (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
