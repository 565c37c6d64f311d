-- Files: one row per upload, its bytes in the content-addressed store (data/files/ab/cdef...,
-- named by the sha256 of what was uploaded; two uploads of the same bytes share one copy).
-- `type` is what the bytes are (sniffed), never what the client said; `kind` sorts them for
-- a chat's gallery: media (images, video), voice (audio), files (everything else).
CREATE TABLE files (
    id          INTEGER PRIMARY KEY,
    sha256      TEXT    NOT NULL,
    owner_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('media', 'voice', 'files')),
    size        INTEGER NOT NULL,
    width       INTEGER,
    height      INTEGER,
    duration_ms INTEGER,
    has_thumb   INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE INDEX files_sha256 ON files(sha256);
CREATE INDEX files_owner ON files(owner_id, sha256);
CREATE INDEX files_created ON files(created_at);

-- A message's attachments, in order. `chat_id` is the message's, for the gallery and for
-- "may this person see this file" (a member of a chat it was posted in).
CREATE TABLE message_files (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    file_id    INTEGER NOT NULL REFERENCES files(id),
    chat_id    INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    UNIQUE (message_id, file_id)
);
CREATE INDEX message_files_file ON message_files(file_id, chat_id);
CREATE INDEX message_files_chat ON message_files(chat_id, id);
