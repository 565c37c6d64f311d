-- PostgreSQL twin of ../0005_event_redaction.sql.
-- Events about a message name it, so that deleting or editing the message rewrites them: a
-- late joiner replaying the log sees what the message is now, never text that was deleted or
-- edited away (the events used to keep every version for the retention window).
--
-- events.data stays text; jsonb is used only to compute the new text. A rewritten row is
-- jsonb's rendering of the document (keys in jsonb's order, ", " and ": " separators) where
-- SQLite's json_set keeps the key order and writes it compactly: the same JSON value.
-- Rows that are not rewritten keep their text byte for byte.

ALTER TABLE events ADD COLUMN message_id bigint;

-- Two helpers for this migration only, in the session's temporary schema (dropped below):
-- hearth_json: the document, or NULL where SQLite's json_valid() is false.
CREATE FUNCTION pg_temp.hearth_json(doc text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN doc::jsonb;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END
$$;
-- hearth_int: a JSON value as SQLite turns json_extract()'s result into an INTEGER (column
-- affinity, or comparison with an INTEGER column): integral numbers and numeric strings
-- (" 12 ", "12.0", "1e2") are integers, true/false are 1/0. What SQLite would keep as REAL or
-- TEXT (12.5, "abc", objects) cannot be a bigint and is NULL (it never equals an id there).
CREATE FUNCTION pg_temp.hearth_int(value jsonb) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    number numeric;
BEGIN
    CASE jsonb_typeof(value)
        WHEN 'boolean' THEN
            RETURN CASE WHEN value = 'true'::jsonb THEN 1 ELSE 0 END;
        WHEN 'number' THEN
            number := (value #>> '{}')::numeric;
        WHEN 'string' THEN
            IF (value #>> '{}') !~ '^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$' THEN
                RETURN NULL;
            END IF;
            number := (value #>> '{}')::numeric;
        ELSE
            RETURN NULL;
    END CASE;
    IF number <> trunc(number) OR number < -9223372036854775808 OR number > 9223372036854775807 THEN
        RETURN NULL;
    END IF;
    RETURN number::bigint;
EXCEPTION WHEN data_exception THEN  -- e.g. "1e999999": out of numeric's range
    RETURN NULL;
END
$$;

-- SQLite: json_extract(data, '$.id') WHERE ... AND json_valid(data). Invalid JSON gives NULL
-- here, which is what the new column already holds.
UPDATE events SET message_id = pg_temp.hearth_int(pg_temp.hearth_json(data) -> 'id')
 WHERE type IN ('message.created', 'message.updated');
CREATE INDEX events_message ON events(message_id) WHERE message_id IS NOT NULL;

-- What was already deleted for everyone: the text, mentions and reactions are gone.
-- (A row with a message_id holds a JSON object: || sets the keys as json_set does.)
UPDATE events
   SET data = (pg_temp.hearth_json(data)
               || '{"body": "", "deleted": true, "mentions": [], "reactions": [], "pinned": false}'::jsonb)::text
 WHERE message_id IN (SELECT id FROM messages WHERE deleted_at IS NOT NULL);

-- What was edited: only the current text remains.
UPDATE events
   SET data = jsonb_set(pg_temp.hearth_json(events.data), '{body}', to_jsonb(m.body))::text
  FROM messages m
 WHERE m.id = events.message_id AND m.edited_at IS NOT NULL AND m.deleted_at IS NULL;

-- Replies quote the message they answer: the quote follows it. (substr counts characters on
-- both engines; $.reply_to is an object wherever $.reply_to.id names a message.)
UPDATE events
   SET data = jsonb_set(
                  jsonb_set(pg_temp.hearth_json(events.data), '{reply_to,body}',
                            to_jsonb(substr(m.body, 1, 200))),
                  '{reply_to,deleted}', to_jsonb(m.deleted_at IS NOT NULL))::text
  FROM messages m
 WHERE events.message_id IS NOT NULL
   AND m.id = pg_temp.hearth_int(pg_temp.hearth_json(events.data) #> '{reply_to,id}')
   AND (m.deleted_at IS NOT NULL OR m.edited_at IS NOT NULL);

DROP FUNCTION pg_temp.hearth_int(jsonb);
DROP FUNCTION pg_temp.hearth_json(text);

-- Finding the replies that quote a message, when it is edited or deleted.
CREATE INDEX messages_reply ON messages(reply_to) WHERE reply_to IS NOT NULL;
