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
