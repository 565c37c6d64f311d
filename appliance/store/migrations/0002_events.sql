-- The event log (DESIGN §2): every state change clients must see is written here in the same
-- transaction as the change, with a global, monotonically increasing seq. A client that
-- reconnects with its last seq is replayed what it missed; rows older than the retention
-- window are pruned and such a client gets sync.reset instead.

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
