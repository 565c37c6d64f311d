-- PostgreSQL twin of ../0011_dm_policy.sql.
-- Who can message a person: 'everyone' (as before; existing accounts keep it) or 'contacts'
-- (a person who is not their contact must send a contact request first). It gates opening a
-- direct chat and sending into one (store/chats.py, direct_refusal); groups are not affected.
ALTER TABLE users ADD COLUMN dm_policy text NOT NULL DEFAULT 'everyone'
    CHECK (dm_policy IN ('everyone', 'contacts'));
