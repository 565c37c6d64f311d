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
