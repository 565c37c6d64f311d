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
