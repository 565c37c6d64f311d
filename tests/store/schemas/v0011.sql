-- Frozen schema version 11 (0001_accounts .. 0011_dm_policy), with a little data, as a
-- database of that version looked. Never edit: upgrades are tested from exactly this.
PRAGMA user_version = 11;
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
-- Messaging: chats and their members, messages with edits, reactions and pins, receipts,
-- contacts and blocks, chat invite links, and full-text search over message bodies.

ALTER TABLE users ADD COLUMN last_seen_at INTEGER;

CREATE TABLE chats (
    id               INTEGER PRIMARY KEY,
    kind             TEXT    NOT NULL CHECK (kind IN ('direct', 'group', 'channel')),
    title            TEXT    NOT NULL DEFAULT '',
    topic            TEXT    NOT NULL DEFAULT '',
    is_public        INTEGER NOT NULL DEFAULT 0,
    -- "small:large" user ids for direct chats: one direct chat per pair of people.
    direct_key       TEXT    UNIQUE,
    created_by       INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at       INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL,
    last_message_id  INTEGER,
    CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
);
CREATE INDEX chats_public ON chats(is_public) WHERE is_public = 1;

CREATE TABLE chat_members (
    chat_id           INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role              TEXT    NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
    joined_at         INTEGER NOT NULL,
    last_read_id      INTEGER NOT NULL DEFAULT 0,
    last_delivered_id INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, user_id)
) WITHOUT ROWID;
CREATE INDEX chat_members_user ON chat_members(user_id, chat_id);

CREATE TABLE messages (
    id             INTEGER PRIMARY KEY,
    chat_id        INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    sender_id      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    client_id      TEXT,
    kind           TEXT    NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'system', 'call')),
    body           TEXT    NOT NULL,
    reply_to       INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    -- JSON {"message_id", "sender_id", "sender_name"} of the original, for forwards.
    forwarded_from TEXT,
    created_at     INTEGER NOT NULL,
    edited_at      INTEGER,
    deleted_at     INTEGER,
    UNIQUE (sender_id, client_id)
);
CREATE INDEX messages_chat ON messages(chat_id, id);

-- A new message is the chat's latest activity, and its sender has read everything up to it.
-- Triggers, because the single writer's trips to SQLite are what limits messages per second.
CREATE TRIGGER messages_touch_chat AFTER INSERT ON messages BEGIN
    UPDATE chats SET last_message_id = new.id, last_activity_at = new.created_at
        WHERE id = new.chat_id;
    UPDATE chat_members SET last_read_id = new.id, last_delivered_id = new.id
        WHERE chat_id = new.chat_id AND user_id = new.sender_id;
END;

CREATE TABLE message_edits (
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    body       TEXT    NOT NULL,
    edited_at  INTEGER NOT NULL
);
CREATE INDEX message_edits_message ON message_edits(message_id);

CREATE TABLE message_mentions (
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (message_id, user_id)
) WITHOUT ROWID;
CREATE INDEX message_mentions_user ON message_mentions(user_id, message_id);

-- "Delete for me": the message stays for everyone else.
CREATE TABLE message_hidden (
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, message_id)
) WITHOUT ROWID;

CREATE TABLE reactions (
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    emoji      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
) WITHOUT ROWID;

CREATE TABLE pins (
    chat_id    INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    pinned_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    pinned_at  INTEGER NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);

-- One row per direction: (ada, bob, 'outgoing') and (bob, ada, 'incoming') for a request,
-- both 'accepted' once bob accepts.
CREATE TABLE contacts (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    other_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    state      TEXT    NOT NULL CHECK (state IN ('outgoing', 'incoming', 'accepted')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, other_id)
) WITHOUT ROWID;

CREATE TABLE blocks (
    blocker_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    blocked_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
) WITHOUT ROWID;
CREATE INDEX blocks_blocked ON blocks(blocked_id);

CREATE TABLE chat_invites (
    code       TEXT    PRIMARY KEY,
    chat_id    INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0
);

-- Full-text search over live text messages, kept in step by triggers.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.kind = 'text' AND new.deleted_at IS NULL BEGIN
    INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, deleted_at ON messages
WHEN old.kind = 'text' BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body)
        SELECT 'delete', old.id, old.body WHERE old.deleted_at IS NULL;
    INSERT INTO messages_fts(rowid, body)
        SELECT new.id, new.body WHERE new.deleted_at IS NULL;
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.kind = 'text' AND old.deleted_at IS NULL BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
-- Calls (DESIGN §6): one row per call with its outcome, who took part and when, and the
-- call-log message it left in its chat when it ended.

CREATE TABLE calls (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('audio', 'video')),
    started_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    started_at  INTEGER NOT NULL,
    answered_at INTEGER,
    ended_at    INTEGER,
    outcome     TEXT    CHECK (outcome IN ('completed', 'missed', 'declined', 'busy', 'failed')),
    -- The kind 'call' message written in the chat when the call ended.
    message_id  INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    CHECK ((ended_at IS NULL) = (outcome IS NULL))
);
CREATE INDEX calls_chat ON calls(chat_id, id);
CREATE INDEX calls_ongoing ON calls(chat_id) WHERE ended_at IS NULL;
CREATE INDEX calls_message ON calls(message_id) WHERE message_id IS NOT NULL;

-- One row per stint: someone who leaves and joins again has two.
CREATE TABLE call_participants (
    call_id   INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    joined_at INTEGER NOT NULL,
    left_at   INTEGER
);
CREATE INDEX call_participants_call ON call_participants(call_id, user_id);
INSERT INTO users (id, username, email, password_hash, display_name, is_admin, created_at, updated_at) VALUES (2, 'bob', NULL, '$2b$04$abcdefghijklmnopqrstuu5mO7b3bX3q9m0FJ9H2nU6pS1wW9hE5i', 'Bob', 0, 1700000000000, 1700000000000);
INSERT INTO chats (id, kind, direct_key, created_by, created_at, last_activity_at) VALUES (1, 'direct', '1:2', 1, 1700000000000, 1700000000000);
INSERT INTO chat_members (chat_id, user_id, role, joined_at) VALUES (1, 1, 'member', 1700000000000), (1, 2, 'member', 1700000000000);
INSERT INTO messages (chat_id, sender_id, client_id, body, created_at) VALUES (1, 1, 'c1', 'hello bob', 1700000000001);
INSERT INTO messages (chat_id, sender_id, client_id, body, created_at, edited_at) VALUES (1, 2, 'c2', 'the edited text', 1700000000002, 1700000000009);
INSERT INTO messages (chat_id, sender_id, client_id, body, created_at, deleted_at) VALUES (1, 1, 'c3', '', 1700000000003, 1700000000010);
INSERT INTO messages (chat_id, sender_id, client_id, body, reply_to, created_at) VALUES (1, 2, 'c4', 'what did you say?', 3, 1700000000004);
INSERT INTO events (chat_id, user_id, type, data, created_at) VALUES (1, NULL, 'message.created', '{"id":1,"chat_id":1,"body":"hello bob","deleted":false,"reply_to":null}', 1700000000001);
INSERT INTO events (chat_id, user_id, type, data, created_at) VALUES (1, NULL, 'message.created', '{"id":2,"chat_id":1,"body":"the first text","deleted":false,"reply_to":null}', 1700000000002);
INSERT INTO events (chat_id, user_id, type, data, created_at) VALUES (1, NULL, 'message.created', '{"id":3,"chat_id":1,"body":"a secret","deleted":false,"mentions":[2],"reply_to":null}', 1700000000003);
INSERT INTO events (chat_id, user_id, type, data, created_at) VALUES (1, NULL, 'message.created', '{"id":4,"chat_id":1,"body":"what did you say?","deleted":false,"reply_to":{"id":3,"sender_id":1,"body":"a secret","deleted":false}}', 1700000000004);
INSERT INTO events (chat_id, user_id, type, data, created_at) VALUES (1, NULL, 'message.updated', '{"id":2,"chat_id":1,"body":"the edited text","deleted":false,"reply_to":null}', 1700000000009);
INSERT INTO events (chat_id, user_id, type, data, created_at) VALUES (1, NULL, 'message.deleted', '{"id":3,"chat_id":1,"for":"everyone"}', 1700000000010);
INSERT INTO calls (chat_id, kind, started_by, started_at, answered_at, ended_at, outcome) VALUES (1, 'audio', 1, 1700000000005, 1700000000006, 1700000000008, 'completed');

-- 0005_event_redaction, as it ran on the data above.
-- Events about a message name it, so that deleting or editing the message rewrites them: a
-- late joiner replaying the log sees what the message is now, never text that was deleted or
-- edited away (the events used to keep every version for the retention window).

ALTER TABLE events ADD COLUMN message_id INTEGER;
UPDATE events SET message_id = json_extract(data, '$.id')
 WHERE type IN ('message.created', 'message.updated') AND json_valid(data);
CREATE INDEX events_message ON events(message_id) WHERE message_id IS NOT NULL;

-- What was already deleted for everyone: the text, mentions and reactions are gone.
UPDATE events
   SET data = json_set(data, '$.body', '', '$.deleted', json('true'), '$.mentions', json('[]'),
                       '$.reactions', json('[]'), '$.pinned', json('false'))
 WHERE message_id IN (SELECT id FROM messages WHERE deleted_at IS NOT NULL);

-- What was edited: only the current text remains.
UPDATE events
   SET data = json_set(events.data, '$.body', m.body)
  FROM messages m
 WHERE m.id = events.message_id AND m.edited_at IS NOT NULL AND m.deleted_at IS NULL;

-- Replies quote the message they answer: the quote follows it.
UPDATE events
   SET data = json_set(events.data, '$.reply_to.body', substr(m.body, 1, 200),
                       '$.reply_to.deleted', json(iif(m.deleted_at IS NULL, 'false', 'true')))
  FROM messages m
 WHERE events.message_id IS NOT NULL
   AND m.id = json_extract(events.data, '$.reply_to.id')
   AND (m.deleted_at IS NOT NULL OR m.edited_at IS NOT NULL);

-- Finding the replies that quote a message, when it is edited or deleted.
CREATE INDEX messages_reply ON messages(reply_to) WHERE reply_to IS NOT NULL;
INSERT INTO messages (chat_id, sender_id, client_id, body, created_at) VALUES (1, 1, 'c5', 'a photo', 1700000000011);
INSERT INTO events (chat_id, user_id, type, data, created_at, message_id) VALUES (1, NULL, 'message.created', '{"id":5,"chat_id":1,"body":"a photo","deleted":false,"reply_to":null}', 1700000000011, 5);
-- Files: one row per upload, its bytes in the content-addressed store (data/files/ab/cdef...,
-- named by the sha256 of what was uploaded; two uploads of the same bytes share one copy).
-- `type` is what the bytes are (sniffed), never what the client said; `kind` sorts them for
-- a chat's gallery: media (images, video), voice (audio), files (everything else).
CREATE TABLE files (
    id          INTEGER PRIMARY KEY,
    sha256      TEXT    NOT NULL,
    owner_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('media', 'voice', 'files')),
    size        INTEGER NOT NULL,
    width       INTEGER,
    height      INTEGER,
    duration_ms INTEGER,
    has_thumb   INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE INDEX files_sha256 ON files(sha256);
CREATE INDEX files_owner ON files(owner_id, sha256);
CREATE INDEX files_created ON files(created_at);

-- A message's attachments, in order. `chat_id` is the message's, for the gallery and for
-- "may this person see this file" (a member of a chat it was posted in).
CREATE TABLE message_files (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    file_id    INTEGER NOT NULL REFERENCES files(id),
    chat_id    INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    UNIQUE (message_id, file_id)
);
CREATE INDEX message_files_file ON message_files(file_id, chat_id);
CREATE INDEX message_files_chat ON message_files(chat_id, id);
INSERT INTO files (id, sha256, owner_id, name, type, kind, size, width, height, duration_ms, has_thumb, created_at) VALUES (1, 'abababababababababababababababababababababababababababababababab', 1, 'beach.jpg', 'image/jpeg', 'media', 1234, 64, 48, NULL, 1, 1700000000011);
INSERT INTO files (id, sha256, owner_id, name, type, kind, size, width, height, duration_ms, has_thumb, created_at) VALUES (2, 'cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd', 2, 'voice.webm', 'audio/webm', 'voice', 5678, NULL, NULL, 1500, 0, 1700000000012);
INSERT INTO message_files (message_id, file_id, chat_id, position) VALUES (5, 1, 1, 0);
ALTER TABLE files ADD COLUMN waveform BLOB;

ALTER TABLE users ADD COLUMN avatar_file_id INTEGER REFERENCES files(id) ON DELETE SET NULL;
ALTER TABLE chats ADD COLUMN avatar_file_id INTEGER REFERENCES files(id) ON DELETE SET NULL;
CREATE INDEX users_avatar ON users(avatar_file_id) WHERE avatar_file_id IS NOT NULL;
CREATE INDEX chats_avatar ON chats(avatar_file_id) WHERE avatar_file_id IS NOT NULL;

-- Each member's own view of a chat: muted until a time, archived or hidden (a direct chat
-- "deleted for me") up to a message, and history cleared up to a message. Archived and
-- hidden are message ids, not flags: the chat comes back as soon as a later message
-- arrives, with no trigger. Leaving the chat forgets them.
CREATE TABLE chat_prefs (
    chat_id          INTEGER NOT NULL,
    user_id          INTEGER NOT NULL,
    muted_until      INTEGER,
    archived_through INTEGER,
    hidden_through   INTEGER,
    cleared_through  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, user_id),
    FOREIGN KEY (chat_id, user_id) REFERENCES chat_members(chat_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;

-- Messages a person starred, to find again; only theirs to see.
CREATE TABLE message_stars (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, message_id)
) WITHOUT ROWID;
CREATE INDEX message_stars_message ON message_stars(message_id);
INSERT INTO chat_prefs (chat_id, user_id, muted_until, archived_through, cleared_through) VALUES (1, 2, 253402300799000, 5, 2);
INSERT INTO message_stars (user_id, message_id, created_at) VALUES (1, 4, 1700000000012);

-- Activity: what concerns a person across chats (mentions, replies to them, reactions to
-- their messages, missed calls) is read from the tables that hold it; a person only keeps
-- how far they have looked. Existing accounts start with nothing unread, not their whole past.
ALTER TABLE users ADD COLUMN activity_read_at INTEGER NOT NULL DEFAULT 0;
UPDATE users SET activity_read_at = 1700000000020;

-- Replies to a person's messages, found from their messages.
CREATE INDEX messages_reply_to ON messages(reply_to) WHERE reply_to IS NOT NULL;

-- Threads: a reply in a thread names its root (a top-level message of the same chat). It
-- stays out of the main timeline, the chat's latest message and its unread count unless it
-- was also sent to the chat. Each person's read mark per thread gives the thread's unread.
ALTER TABLE messages ADD COLUMN thread_root_id INTEGER REFERENCES messages(id) ON DELETE CASCADE;
ALTER TABLE messages ADD COLUMN also_to_chat INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_thread ON messages(thread_root_id, id) WHERE thread_root_id IS NOT NULL;

-- As before, but a reply kept in its thread is not the chat's latest activity.
DROP TRIGGER messages_touch_chat;
CREATE TRIGGER messages_touch_chat AFTER INSERT ON messages
WHEN new.thread_root_id IS NULL OR new.also_to_chat = 1 BEGIN
    UPDATE chats SET last_message_id = new.id, last_activity_at = new.created_at
        WHERE id = new.chat_id;
    UPDATE chat_members SET last_read_id = new.id, last_delivered_id = new.id
        WHERE chat_id = new.chat_id AND user_id = new.sender_id;
END;

-- How far each person has read each thread (the id of the last reply they saw).
CREATE TABLE thread_reads (
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    root_id      INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    last_read_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, root_id)
) WITHOUT ROWID;
CREATE INDEX thread_reads_root ON thread_reads(root_id);
INSERT INTO messages (chat_id, sender_id, client_id, body, created_at, thread_root_id) VALUES (1, 2, 'c6', 'in the thread', 1700000000021, 1);
INSERT INTO thread_reads (user_id, root_id, last_read_id) VALUES (1, 1, 6);

-- Who can message a person: 'everyone' (as before; existing accounts keep it) or 'contacts'
-- (a person who is not their contact must send a contact request first). It gates opening a
-- direct chat and sending into one (store/chats.py, direct_refusal); groups are not affected.
ALTER TABLE users ADD COLUMN dm_policy TEXT NOT NULL DEFAULT 'everyone'
    CHECK (dm_policy IN ('everyone', 'contacts'));
