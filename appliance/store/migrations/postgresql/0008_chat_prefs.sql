-- PostgreSQL twin of ../0008_chat_prefs.sql (WITHOUT ROWID dropped).
-- Each member's own view of a chat: muted until a time, archived or hidden (a direct chat
-- "deleted for me") up to a message, and history cleared up to a message. Archived and
-- hidden are message ids, not flags: the chat comes back as soon as a later message
-- arrives, with no trigger. Leaving the chat forgets them.
CREATE TABLE chat_prefs (
    chat_id          bigint NOT NULL,
    user_id          bigint NOT NULL,
    muted_until      bigint,
    archived_through bigint,
    hidden_through   bigint,
    cleared_through  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, user_id),
    FOREIGN KEY (chat_id, user_id) REFERENCES chat_members(chat_id, user_id) ON DELETE CASCADE
);

-- Messages a person starred, to find again; only theirs to see.
CREATE TABLE message_stars (
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    message_id bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    created_at bigint NOT NULL,
    PRIMARY KEY (user_id, message_id)
);
CREATE INDEX message_stars_message ON message_stars(message_id);
