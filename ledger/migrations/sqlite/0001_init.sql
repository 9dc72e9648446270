-- Autopack Host ledger, SQLite. Instants are Unix seconds; money is integer minor units;
-- JSON is stored as TEXT so that it reads back byte for byte.

CREATE TABLE actions (
    id              TEXT    PRIMARY KEY,
    project         TEXT    NOT NULL,
    domain          TEXT    NOT NULL,
    operation       TEXT    NOT NULL,
    params          TEXT    NOT NULL,
    mode            TEXT    NOT NULL CHECK (mode IN ('dry-run', 'live')),
    tier            TEXT    CHECK (tier IN ('A', 'B', 'C')),
    payload_hash    TEXT    NOT NULL,
    plugin_digest   TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    proposer        TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('denied', 'previewed',
                        'pending_approval', 'approved', 'executing', 'succeeded', 'failed',
                        'unknown', 'rejected', 'expired')),
    decision        TEXT    NOT NULL,
    declared_spend  TEXT    NOT NULL,
    actual_spend    TEXT,
    outcome         TEXT,
    error           TEXT,
    preview         TEXT,
    executor        TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    UNIQUE (project, idempotency_key)
);
CREATE INDEX actions_status ON actions (status, expires_at);
CREATE INDEX actions_project ON actions (project, id);
CREATE INDEX actions_domain ON actions (domain, id);

CREATE TABLE approvals (
    action_id    TEXT    NOT NULL REFERENCES actions (id),
    approver     TEXT    NOT NULL,
    payload_hash TEXT    NOT NULL,
    approved_at  INTEGER NOT NULL,
    consumed     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (action_id, approver)
);

CREATE TABLE reservations (
    action_id TEXT    NOT NULL REFERENCES actions (id),
    project   TEXT    NOT NULL,
    unit      TEXT    NOT NULL,
    reserved  INTEGER NOT NULL CHECK (reserved >= 0),
    actual    INTEGER CHECK (actual >= 0),
    day       TEXT    NOT NULL,
    month     TEXT    NOT NULL,
    state     TEXT    NOT NULL CHECK (state IN ('reserved', 'settled', 'released')),
    PRIMARY KEY (action_id, unit)
);
CREATE INDEX reservations_month ON reservations (project, month);

-- A scope without a row is off.
CREATE TABLE switches (
    scope      TEXT    PRIMARY KEY,
    is_on      BOOLEAN NOT NULL,
    updated_by TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE audit (
    seq             INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    request_id      TEXT,
    actor           TEXT    NOT NULL,
    auth            TEXT    NOT NULL,
    project         TEXT,
    domain          TEXT,
    operation       TEXT,
    action_id       TEXT,
    tier            TEXT,
    payload_hash    TEXT,
    idempotency_key TEXT,
    event           TEXT    NOT NULL,
    decision        TEXT,
    reasons         TEXT    NOT NULL,
    mode            TEXT,
    spend           TEXT    NOT NULL,
    outcome         TEXT,
    policy_digest   TEXT,
    plugin_digest   TEXT,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL
);
CREATE INDEX audit_action ON audit (action_id);
CREATE INDEX audit_hash ON audit (hash);

-- The chain head: the last record's seq and hash (seq 0 and the genesis hash when empty).
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
