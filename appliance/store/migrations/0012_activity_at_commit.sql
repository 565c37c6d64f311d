-- A new message is still the sender's read mark, but no longer the chat's latest activity by
-- trigger: the store writes that (store/chats.py `touch`), so that on PostgreSQL it can wait
-- for the commit. SQLite writes it at once, as before; the rows are the same on both.
DROP TRIGGER messages_touch_chat;
CREATE TRIGGER messages_touch_chat AFTER INSERT ON messages
WHEN new.thread_root_id IS NULL OR new.also_to_chat = 1 BEGIN
    UPDATE chat_members SET last_read_id = new.id, last_delivered_id = new.id
        WHERE chat_id = new.chat_id AND user_id = new.sender_id;
END;
