-- Intake foundation. Privacy invariants of DESIGN.md section 3 hold for every table here:
-- no coordinates, no IPs or user agents, no time finer than a calendar month in any table
-- that relates to a report. The few operational time columns (rate-limit day, proof-of-work
-- expiry hour) are listed and justified in tests/api/test_schema_privacy.py.

create table municipality (
    slug text primary key check (slug ~ '^[a-z][a-z0-9-]{1,62}$'),
    name text not null check (length(name) between 1 and 200)
);

-- A res-9 cell belongs to at most one municipality (primary key on cell): the one whose
-- boundary contains the cell's centre, and on overlapping boundaries the one added first.
-- H3 keeps the resolution in bits 52-55 of the index; the checks make a coarser or finer cell
-- impossible to store, whatever the application does.
create table coverage (
    cell bigint primary key check (((cell >> 52) & 15) = 9),
    municipality text not null references municipality (slug) on delete cascade,
    unique (cell, municipality)
);
create index coverage_by_municipality on coverage (municipality, cell);

create table report (
    municipality   text not null references municipality (slug),
    id             uuid not null,
    cell           bigint not null,
    month          text not null check (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    band           text not null check (band in ('night', 'morning', 'afternoon', 'evening')),
    category       text not null check (category in (
                       'verbal', 'nonverbal', 'following', 'physical', 'exposure',
                       'filming', 'threat', 'other')),
    role           text not null check (role in ('victim', 'witness')),
    felt_safety    smallint check (felt_safety between 1 and 5),
    language       text not null check (language in ('nl', 'en')),
    -- Idempotency: kept until retention clears it (end of the month after `month`).
    submission_id  uuid,
    submission_mac bytea,
    receipt_hash   bytea not null check (length(receipt_hash) = 32),
    primary key (municipality, id),
    -- A report's cell lies in its municipality's coverage, enforced by the schema.
    foreign key (cell, municipality) references coverage (cell, municipality),
    check (((cell >> 52) & 15) = 9)
);
create index report_by_id on report (id);
create unique index report_by_submission on report (submission_id) where submission_id is not null;

-- Free text lives apart from the report row, for moderators only, and is deleted 90 days
-- after the first day of its month (so the deletion moment reveals only the month).
create table report_text (
    municipality text not null,
    report_id    uuid not null,
    month        text not null check (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    language     text not null check (language in ('nl', 'en')),
    body         text not null check (length(body) between 1 and 1000),
    pii_removed  text[] not null default '{}',
    primary key (municipality, report_id),
    foreign key (municipality, report_id) references report (municipality, id) on delete cascade
);

-- Withdrawn reports leave only their submission id, so a late retry from an offline queue
-- cannot bring a withdrawn report back. Cleared with the same horizon as submission ids.
create table withdrawn_submission (
    submission_id uuid primary key,
    month         text not null check (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$')
);

-- Proof-of-work replay cache: a keyed digest of each spent challenge and the hour (since
-- the epoch, rounded up) after which its challenge has expired anyway.
create table pow_spent (
    replay_key   bytea primary key,
    expires_hour integer not null
);

-- The day's random rate-limit key. Rows of earlier days are deleted, destroying the only
-- means of linking a pseudonym to a network address.
create table rate_key (
    day date primary key,
    key bytea not null check (length(key) = 32)
);

create table rate_counter (
    day   date not null,
    token bytea not null,
    count integer not null check (count >= 0),
    primary key (day, token)
);

-- A refusal that only concurrency can cause (the solved challenge or a rate counter was just
-- used by a concurrent transaction) may really be a retry of a submission that transaction
-- stored: then roll this item back and let the caller try it again, when it is found as
-- existing, exactly as if the two had arrived one after the other.
create function intake_recheck(p_submission_id uuid) returns void language plpgsql as $$
begin
    perform 1 from report r where r.submission_id = p_submission_id;
    if found then
        raise exception using errcode = 'P0001', message = 'straatstem:retry';
    end if;
end
$$;

-- One round trip per submission. Refusals raise, so the statement's implicit transaction
-- rolls back and a refused submission leaves no trace (no counter, no spent challenge).
create function intake_submit(
    p_id uuid, p_cell bigint, p_month text, p_band text, p_category text, p_role text,
    p_felt_safety smallint, p_language text, p_submission_id uuid, p_submission_mac bytea,
    p_receipt_hash bytea, p_body text, p_pii_removed text[], p_pow_key bytea,
    p_pow_expires_hour integer, p_day date, p_cell_token bytea, p_cell_cap integer,
    p_day_token bytea, p_day_cap integer
) returns table (outcome text, r_id uuid, r_municipality text, r_cell bigint, r_month text)
language plpgsql as $$
declare
    v_existing record;
    v_municipality text;
begin
    select r.id, r.municipality, r.cell, r.month, r.submission_mac into v_existing
      from report r where r.submission_id = p_submission_id;
    if found then
        if v_existing.submission_mac = p_submission_mac then
            return query select 'existing', v_existing.id, v_existing.municipality,
                                v_existing.cell, v_existing.month;
            return;
        end if;
        raise exception using errcode = 'P0001', message = 'straatstem:conflict';
    end if;
    perform 1 from withdrawn_submission w where w.submission_id = p_submission_id;
    if found then
        raise exception using errcode = 'P0001', message = 'straatstem:withdrawn';
    end if;

    select c.municipality into v_municipality from coverage c where c.cell = p_cell;
    if v_municipality is null then
        raise exception using errcode = 'P0001', message = 'straatstem:outside';
    end if;

    insert into pow_spent (replay_key, expires_hour) values (p_pow_key, p_pow_expires_hour)
        on conflict do nothing;
    if not found then
        perform intake_recheck(p_submission_id);
        raise exception using errcode = 'P0001', message = 'straatstem:replay';
    end if;

    insert into rate_counter as rc (day, token, count) values (p_day, p_cell_token, 1)
        on conflict (day, token) do update set count = rc.count + 1 where rc.count < p_cell_cap;
    if not found then
        perform intake_recheck(p_submission_id);
        raise exception using errcode = 'P0001', message = 'straatstem:rate_cell';
    end if;
    insert into rate_counter as rc (day, token, count) values (p_day, p_day_token, 1)
        on conflict (day, token) do update set count = rc.count + 1 where rc.count < p_day_cap;
    if not found then
        perform intake_recheck(p_submission_id);
        raise exception using errcode = 'P0001', message = 'straatstem:rate_day';
    end if;

    insert into report (municipality, id, cell, month, band, category, role, felt_safety,
                        language, submission_id, submission_mac, receipt_hash)
    values (v_municipality, p_id, p_cell, p_month, p_band, p_category, p_role, p_felt_safety,
            p_language, p_submission_id, p_submission_mac, p_receipt_hash);
    if p_body is not null then
        insert into report_text (municipality, report_id, month, language, body, pii_removed)
        values (v_municipality, p_id, p_month, p_language, p_body, p_pii_removed);
    end if;
    return query select 'created', p_id, v_municipality, p_cell, p_month;
end
$$;

-- Group commit: the API gathers concurrent submissions and sends them in one call. Each item
-- runs intake_submit in its own subtransaction, so a refusal rolls back only that item and
-- outcomes are exactly those of one call per item; the whole batch commits once.
-- pii_removed travels as a comma-joined string (SQL arrays of arrays must be rectangular).
create function intake_submit_batch(
    p_id uuid[], p_cell bigint[], p_month text[], p_band text[], p_category text[], p_role text[],
    p_felt_safety smallint[], p_language text[], p_submission_id uuid[], p_submission_mac bytea[],
    p_receipt_hash bytea[], p_body text[], p_pii_removed text[], p_pow_key bytea[],
    p_pow_expires_hour integer[], p_day date[], p_cell_token bytea[], p_cell_cap integer,
    p_day_token bytea[], p_day_cap integer
) returns table (idx integer, outcome text, r_id uuid, r_municipality text, r_cell bigint, r_month text)
language plpgsql as $$
declare
    i integer;
    r record;
begin
    for i in 1 .. coalesce(array_length(p_id, 1), 0) loop
        begin
            select * into r from intake_submit(
                p_id[i], p_cell[i], p_month[i], p_band[i], p_category[i], p_role[i], p_felt_safety[i],
                p_language[i], p_submission_id[i], p_submission_mac[i], p_receipt_hash[i], p_body[i],
                coalesce(string_to_array(nullif(p_pii_removed[i], ''), ','), '{}'), p_pow_key[i],
                p_pow_expires_hour[i], p_day[i], p_cell_token[i], p_cell_cap, p_day_token[i], p_day_cap);
            return query select i, r.outcome, r.r_id, r.r_municipality, r.r_cell, r.r_month;
        exception
            when raise_exception then
                return query select i, sqlerrm, null::uuid, null::text, null::bigint, null::text;
            when unique_violation then
                -- The same submission id committed concurrently in another batch: ask the
                -- caller to try this item again, when it will be found as existing.
                return query select i, 'straatstem:retry'::text, null::uuid, null::text, null::bigint,
                                    null::text;
        end;
    end loop;
end
$$;
