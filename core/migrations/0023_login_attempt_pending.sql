-- A login attempt is recorded before its password is checked, as pending (succeeded null), and marked
-- succeeded or failed once checked (portal/auth.py). A pending attempt counts against its account's limit, as
-- the failure it may turn out to be, so guesses sent in parallel at one account are still bounded; the
-- per-address limit counts failed attempts only, so correct logins in flight from one address (a province
-- office behind NAT or a proxy) no longer lock it out. The per-address count reads this index.
alter table portal.login_attempt alter column succeeded drop not null;
comment on column portal.login_attempt.succeeded is 'null while its password is being checked';
create index on portal.login_attempt (client, attempted_at);
