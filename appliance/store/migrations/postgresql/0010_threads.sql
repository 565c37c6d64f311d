-- PostgreSQL twin of ../0010_threads.sql.
-- Threads: a reply in a thread names its root (a top-level message of the same chat). It
-- stays out of the main timeline, the chat's latest message and its unread count unless it
-- was also sent to the chat. Each person's read mark per thread gives the thread's unread.
ALTER TABLE messages ADD COLUMN thread_root_id bigint REFERENCES messages(id) ON DELETE CASCADE;
ALTER TABLE messages ADD COLUMN also_to_chat smallint NOT NULL DEFAULT 0;
CREATE INDEX messages_thread ON messages(thread_root_id, id) WHERE thread_root_id IS NOT NULL;

-- As before, but a reply kept in its thread is not the chat's latest activity. The trigger's
-- body, messages_touch_chat() from 0003, is unchanged: only its WHEN condition is new.
DROP TRIGGER messages_touch_chat ON messages;
CREATE TRIGGER messages_touch_chat AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.thread_root_id IS NULL OR NEW.also_to_chat = 1)
    EXECUTE FUNCTION messages_touch_chat();

-- How far each person has read each thread (the id of the last reply they saw).
CREATE TABLE thread_reads (
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    root_id      bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    last_read_id bigint NOT NULL,
    PRIMARY KEY (user_id, root_id)
);
CREATE INDEX thread_reads_root ON thread_reads(root_id);
