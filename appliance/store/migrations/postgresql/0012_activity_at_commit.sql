-- PostgreSQL twin of ../0012_activity_at_commit.sql. A new message is still the sender's read
-- mark, but the chat's latest activity is written when the transaction commits, under the
-- write lock (store/chats.py `touch_at_commit`): transactions of several processes then never
-- lock chat rows in the middle, and cannot deadlock on them.
CREATE OR REPLACE FUNCTION messages_touch_chat() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE chat_members SET last_read_id = NEW.id, last_delivered_id = NEW.id
        WHERE chat_id = NEW.chat_id AND user_id = NEW.sender_id;
    RETURN NULL;
END
$$;
