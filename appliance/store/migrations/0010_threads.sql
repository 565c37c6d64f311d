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
