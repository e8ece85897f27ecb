-- Frozen releases and the epsilon ledger (DESIGN.md section 3, issue 3). A release is built
-- once per municipality and calendar month (staff) or quarter (public), stored, and served
-- byte-identical ever after; neither table can be changed or emptied row by row, whatever the
-- application does. Both outlive the raw reports they were built from.

create table release (
    municipality text not null references municipality (slug),
    audience     text not null check (audience in ('staff', 'public')),
    period       text not null,
    k            integer not null check (k >= 3),
    body         bytea not null,
    primary key (municipality, audience, period),
    check ((audience = 'staff' and period ~ '^2[0-9]{3}-(0[1-9]|1[0-2])$')
        or (audience = 'public' and period ~ '^2[0-9]{3}-Q[1-4]$'))
);

-- One row per (bucket, layer): the epsilon a report in that bucket spent on that layer. The
-- bucket is the month (staff) or quarter (public) every report lies in exactly once. Exact
-- decimals as text: the ledger is compared in exact arithmetic, never in floating point.
create table epsilon_ledger (
    municipality text not null references municipality (slug),
    audience     text not null check (audience in ('staff', 'public')),
    period       text not null,
    layer        text not null check (layer ~ '^[a-z_]{1,32}$'),
    epsilon      text not null check (epsilon ~ '^[0-9]+(\.[0-9]+)?$'),
    cap          text not null check (cap ~ '^[0-9]+(\.[0-9]+)?$'),
    primary key (municipality, audience, period, layer),
    foreign key (municipality, audience, period) references release (municipality, audience, period)
        deferrable initially deferred
);

create function refuse_change() returns trigger language plpgsql as $$
begin
    raise exception using
        message = format('straatstem: %s rows are frozen and cannot be %s', tg_table_name,
                         case tg_op when 'UPDATE' then 'changed' else 'deleted' end);
end
$$;

create trigger release_frozen before update or delete on release
    for each row execute function refuse_change();
create trigger epsilon_ledger_frozen before update or delete on epsilon_ledger
    for each row execute function refuse_change();
