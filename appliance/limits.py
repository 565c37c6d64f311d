"""Limits the API contract publishes and the services enforce, one definition each.

The request models (`api/requests.py`, and through them /openapi.json and the URL converter
for ids) and the service checks read these, so what the schema says is what the server
accepts. A message's length is not here: it is config (`messages.max_length`).
"""

from __future__ import annotations

# Ids are SQLite INTEGERs (signed 64-bit); 2**62 leaves room and refuses overflow early.
ID_MIN = 1
ID_MAX = 2**62

USERNAME_MIN = 3
USERNAME_MAX = 32
PASSWORD_MIN = 8
PASSWORD_MAX = 256
DISPLAY_NAME_MAX = 64
BIO_MAX = 500
STATUS_TEXT_MAX = 140
# An email address is at most 64 characters, "@", then at most 190.
EMAIL_LOCAL_MAX = 64
EMAIL_DOMAIN_MAX = 190
EMAIL_MAX = EMAIL_LOCAL_MAX + 1 + EMAIL_DOMAIN_MAX

TITLE_MAX = 80
TOPIC_MAX = 500
MEMBERS_AT_ONCE_MAX = 200
CLIENT_ID_MAX = 64
EMOJI_MAX = 16  # characters of one reaction (an emoji with its joiners and modifiers)
FILE_NAME_MAX = 200  # characters of an uploaded file's name as shown
ATTACHMENTS_MAX = 10  # files on one message
ADMIN_SEARCH_MAX = 100  # characters of an admin's search for accounts
INVITE_CODE_MAX = 64
