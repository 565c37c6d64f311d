-- PostgreSQL twin of ../0007_waveforms_avatars.sql.
-- A voice note's waveform: about 64 peak levels, one byte (0..255) each, computed when it
-- is stored; NULL for every other file.
ALTER TABLE files ADD COLUMN waveform bytea;

-- Profile and group pictures: a file row (a square WebP made by the server). A file an
-- avatar names is kept by the sweep like one a message links; replacing or removing the
-- picture leaves the old file to the sweep.
ALTER TABLE users ADD COLUMN avatar_file_id bigint REFERENCES files(id) ON DELETE SET NULL;
ALTER TABLE chats ADD COLUMN avatar_file_id bigint REFERENCES files(id) ON DELETE SET NULL;
CREATE INDEX users_avatar ON users(avatar_file_id) WHERE avatar_file_id IS NOT NULL;
CREATE INDEX chats_avatar ON chats(avatar_file_id) WHERE avatar_file_id IS NOT NULL;
