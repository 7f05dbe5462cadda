-- An officer's email: a province's contacts are its officers' portal accounts with one (notify/alerts.py,
-- province_contacts), besides ref.province_contact; its refusals, hold notices and reminders go to them.
alter table portal.account
    add column email text check (email is null or email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$');
