-- Staff accounts, sessions, login lockout and the audit log. None of these tables relates to a
-- report: their few time columns (session expiry, lockout, the audit entry's time) exist for
-- staff security and accountability and are justified in tests/api/test_schema_privacy.py.

create table staff (
    id             uuid primary key,
    -- Normalised by the application (trimmed, lower case); the check makes any other form
    -- impossible to store, so the unique constraint really is case-insensitive.
    email          text not null unique
                   check (email = lower(btrim(email)) and length(email) <= 254
                          and email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    municipality   text not null references municipality (slug),
    role           text not null check (role in ('analyst', 'moderator', 'admin')),
    password_hash  text not null check (password_hash like '$argon2id$%'),
    -- The 160-bit TOTP secret sealed with AES-256-GCM under a key derived from the deployment
    -- secret (12-byte nonce, 20-byte ciphertext, 16-byte tag), so a database dump alone does
    -- not yield second factors. NULL: no second factor enrolled.
    totp_sealed    bytea check (length(totp_sealed) = 48),
    -- The 30-second TOTP step of the last accepted code: a code is accepted only for a later
    -- step, so a code cannot be replayed within its window.
    totp_last_step bigint,
    disabled       boolean not null default false
);
create index staff_by_municipality on staff (municipality, email);

-- Bearer tokens and dashboard cookies: only SHA-256 of the random token is stored.
create table staff_session (
    token_hash bytea primary key check (length(token_hash) = 32),
    staff_id   uuid not null references staff (id) on delete cascade,
    expires_at timestamptz not null
);
create index staff_session_by_staff on staff_session (staff_id);
create index staff_session_by_expiry on staff_session (expires_at);

-- Consecutive failed logins per e-mail, keyed by HMAC(server key, normalised e-mail) so that
-- unknown e-mails are counted and locked exactly like known ones without storing them.
create table staff_login_failure (
    email_key       bytea primary key check (length(email_key) = 32),
    failures        integer not null check (failures >= 0),
    last_failure_at timestamptz not null,
    locked_until    timestamptz
);

-- One login attempt, counted as a failure before the password is checked (a success then
-- deletes the row), so parallel guesses cannot slip past the lock. Returns either
-- refused_seconds (the key is locked now: do not check the password) or lock_seconds (this
-- attempt, if it fails, locks the key for that long; NULL below the threshold). A key's
-- failures are forgotten after p_forget_seconds without failure and without a lock in force.
create function staff_login_attempt(
    p_key bytea, p_threshold integer, p_base_seconds integer, p_cap_seconds integer, p_forget_seconds integer
) returns table (refused_seconds integer, lock_seconds integer)
language plpgsql as $$
declare
    v_row staff_login_failure%rowtype;
    v_failures integer;
    v_lock integer;
begin
    delete from staff_login_failure f
     where greatest(f.last_failure_at, f.locked_until) + make_interval(secs => p_forget_seconds) < now();
    insert into staff_login_failure (email_key, failures, last_failure_at)
    values (p_key, 0, now()) on conflict (email_key) do nothing;
    select * into v_row from staff_login_failure f where f.email_key = p_key for update;
    if v_row.locked_until > now() then
        return query select ceil(extract(epoch from v_row.locked_until - now()))::integer, null::integer;
        return;
    end if;
    v_failures := v_row.failures + 1;
    if v_failures >= p_threshold then
        v_lock := least(p_base_seconds * power(2, least(v_failures - p_threshold, 30)), p_cap_seconds);
    end if;
    update staff_login_failure f
       set failures = v_failures, last_failure_at = now(), locked_until = now() + make_interval(secs => v_lock)
     where f.email_key = p_key;
    return query select null::integer, v_lock;
end
$$;

-- Append-only: who did what, in which municipality, for which period. The staff member is
-- copied as text so the entry outlives the account; `staff_id` is NULL for the CLI ("cli").
-- `detail` is short and never holds report text, tokens or passwords.
create table staff_audit (
    id                 bigint generated always as identity primary key,
    at                 timestamptz not null default now(),
    staff_id           uuid,
    staff_email        text not null check (length(staff_email) <= 254),
    staff_municipality text,
    action             text not null check (action ~ '^[a-z][a-z0-9._-]{0,62}$'),
    municipality       text not null check (length(municipality) <= 64),
    period             text check (length(period) <= 40),
    detail             text check (length(detail) <= 300)
);
create index staff_audit_by_municipality on staff_audit (municipality, id desc);

create function staff_audit_append_only() returns trigger language plpgsql as $$
begin
    raise exception using errcode = 'P0001', message = 'staff_audit is append-only';
end
$$;

-- Row-level triggers refuse UPDATE and DELETE for every role the application uses. TRUNCATE
-- fires no row trigger and is left to the database owner on purpose: the test fixtures reset
-- tables with it, and whoever owns the database can drop a trigger anyway.
create trigger staff_audit_no_update before update on staff_audit
    for each row execute function staff_audit_append_only();
create trigger staff_audit_no_delete before delete on staff_audit
    for each row execute function staff_audit_append_only();
