-- Frozen schema version 2 (0001_accounts, 0002_events), with a little data, as a database of that
-- version looked. Never edit: upgrades are tested from exactly this.
PRAGMA user_version = 2;
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    email         TEXT    UNIQUE COLLATE NOCASE,
    password_hash TEXT    NOT NULL,
    display_name  TEXT    NOT NULL DEFAULT '',
    bio           TEXT    NOT NULL DEFAULT '',
    status_text   TEXT    NOT NULL DEFAULT '',
    is_admin      INTEGER NOT NULL DEFAULT 0,
    disabled_at   INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    device       TEXT    NOT NULL DEFAULT '',
    ip           TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX sessions_user ON sessions(user_id, revoked_at);
CREATE TABLE refresh_tokens (
    token_hash TEXT    PRIMARY KEY,
    session_id TEXT    NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);
CREATE TABLE invites (
    code       TEXT    PRIMARY KEY,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER
);
CREATE TABLE reset_tokens (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO users (id, username, email, password_hash, display_name, is_admin, created_at, updated_at) VALUES (1, 'ada', 'ada@example.org', '$2b$04$abcdefghijklmnopqrstuu5mO7b3bX3q9m0FJ9H2nU6pS1wW9hE5i', 'Ada', 1, 1700000000000, 1700000000000);
INSERT INTO sessions (id, user_id, device, ip, created_at, last_used_at, expires_at) VALUES ('s_old', 1, 'Firefox', '192.168.1.2', 1700000000000, 1700000000000, 4102444800000);
INSERT INTO invites (code, created_by, created_at, expires_at, max_uses) VALUES ('inv1', 1, 1700000000000, 4102444800000, 5);
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id    INTEGER,           -- the chat whose members see it, or NULL
    user_id    INTEGER,           -- for events meant for one user (contacts, own settings)
    type       TEXT    NOT NULL,  -- e.g. message.created
    data       TEXT    NOT NULL,  -- JSON
    created_at INTEGER NOT NULL
);
CREATE INDEX events_chat ON events(chat_id, seq) WHERE chat_id IS NOT NULL;
CREATE INDEX events_user ON events(user_id, seq) WHERE user_id IS NOT NULL;
INSERT INTO events (chat_id, user_id, type, data, created_at) VALUES (NULL, 1, 'test.event', '{}', 1700000000000);
