-- PostgreSQL twin of ../0009_activity.sql.
-- Activity: what concerns a person across chats (mentions, replies to them, reactions to
-- their messages, missed calls) is read from the tables that hold it; a person only keeps
-- how far they have looked. Existing accounts start with nothing unread, not their whole past.
ALTER TABLE users ADD COLUMN activity_read_at bigint NOT NULL DEFAULT 0;
-- SQLite: CAST(strftime('%s', 'now') AS INTEGER) * 1000, whole seconds. now() is the start of
-- the transaction (SQLite's 'now' is the statement's): the same moment for a migration.
UPDATE users SET activity_read_at = floor(extract(epoch FROM now()))::bigint * 1000;

-- Replies to a person's messages, found from their messages.
CREATE INDEX messages_reply_to ON messages(reply_to) WHERE reply_to IS NOT NULL;
