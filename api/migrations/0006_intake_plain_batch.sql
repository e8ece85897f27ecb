-- Group commit, set-based. Almost every batch is plain: every submission is new, inside
-- coverage, with an unspent proof of work and under its rate caps, and no two submissions of
-- the batch share a submission id or a proof of work or straddle midnight. Such a batch is now
-- stored with one statement per table instead of some ten statements per report: the
-- database's CPU per report was a quarter of the whole intake cost, and this cuts it by about
-- a fifth (the index and foreign-key work per row remains). Anything else (a retry, a refusal, a
-- concurrent batch storing the same submission) rolls the attempt back and runs the
-- per-report loop of 0001 (kept as intake_submit_each), whose outcomes are the reference: a
-- plain batch's outcomes are exactly the ones that loop would give (all 'created', in order).
alter function intake_submit_batch(
    uuid[], bigint[], text[], text[], text[], text[], smallint[], text[], uuid[], bytea[], bytea[], text[],
    text[], bytea[], integer[], date[], bytea[], integer, bytea[], integer
) rename to intake_submit_each;

create function intake_submit_batch(
    p_id uuid[], p_cell bigint[], p_month text[], p_band text[], p_category text[], p_role text[],
    p_felt_safety smallint[], p_language text[], p_submission_id uuid[], p_submission_mac bytea[],
    p_receipt_hash bytea[], p_body text[], p_pii_removed text[], p_pow_key bytea[],
    p_pow_expires_hour integer[], p_day date[], p_cell_token bytea[], p_cell_cap integer,
    p_day_token bytea[], p_day_cap integer
) returns table (idx integer, outcome text, r_id uuid, r_municipality text, r_cell bigint, r_month text)
-- PL/pgSQL caches a generic plan per statement, made without the arrays' contents and often
-- while the tables are still small; a lookup by `= any (array)` or a join with unnest() could
-- then stay a sequential scan of report or coverage as they grow (measured: the database's
-- CPU per report tripled within 60,000 reports). Every lookup here has an index; use it.
language plpgsql set enable_seqscan = off as $$
declare
    n integer := coalesce(array_length(p_id, 1), 0);
    v_municipality text[];
    v_rows integer;
    v_plain boolean := false;
begin
    if n = 0 then
        return;
    end if;
    begin
        -- Not plain: leave it to the loop (the exception rolls back whatever was written here).
        if (select count(distinct s) from unnest(p_submission_id) s) <> n
           or (select count(distinct k) from unnest(p_pow_key) k) <> n
           or (select count(distinct d) from unnest(p_day) d) <> 1
           or exists (select 1 from report where report.submission_id = any (p_submission_id))
           or exists (select 1 from withdrawn_submission where withdrawn_submission.submission_id = any (p_submission_id)) then
            raise exception using errcode = 'P0001', message = 'straatstem:not-plain';
        end if;
        select array_agg(c.municipality order by t.i) into v_municipality
          from unnest(p_cell) with ordinality as t (cell, i) left join coverage c on c.cell = t.cell;
        if array_position(v_municipality, null) is not null then
            raise exception using errcode = 'P0001', message = 'straatstem:not-plain';
        end if;

        insert into pow_spent (replay_key, expires_hour)
        select * from unnest(p_pow_key, p_pow_expires_hour) on conflict do nothing;
        get diagnostics v_rows = row_count;
        if v_rows <> n then
            raise exception using errcode = 'P0001', message = 'straatstem:not-plain';
        end if;

        -- Both caps' counters in one statement, in token order so that concurrent batches
        -- lock them in the same order. A cell token never equals a day token (ratelimit.py
        -- derives them with different prefixes).
        if exists (select 1 from unnest(p_cell_token || p_day_token) t group by t
                   having count(*) > case when t = any (p_cell_token) then p_cell_cap else p_day_cap end) then
            raise exception using errcode = 'P0001', message = 'straatstem:not-plain';
        end if;
        insert into rate_counter as rc (day, token, count)
        select p_day[1], t, count(*) from unnest(p_cell_token || p_day_token) t group by t order by t
            on conflict (day, token) do update set count = rc.count + excluded.count
            where rc.count + excluded.count
                  <= case when rc.token = any (p_cell_token) then p_cell_cap else p_day_cap end;
        get diagnostics v_rows = row_count;
        if v_rows <> (select count(distinct t) from unnest(p_cell_token || p_day_token) t) then
            raise exception using errcode = 'P0001', message = 'straatstem:not-plain';
        end if;

        insert into report (municipality, id, cell, month, band, category, role, felt_safety,
                            language, submission_id, submission_mac, receipt_hash)
        select * from unnest(v_municipality, p_id, p_cell, p_month, p_band, p_category, p_role,
                             p_felt_safety, p_language, p_submission_id, p_submission_mac, p_receipt_hash);
        insert into report_text (municipality, report_id, month, language, body, pii_removed)
        select t.municipality, t.id, t.month, t.language, t.body,
               coalesce(string_to_array(nullif(t.removed, ''), ','), '{}')
          from unnest(v_municipality, p_id, p_month, p_language, p_body, p_pii_removed)
               as t (municipality, id, month, language, body, removed)
         where t.body is not null;
        v_plain := true;
    exception
        when raise_exception or unique_violation then
            v_plain := false;
    end;
    if v_plain then
        return query
        select t.i::integer, 'created'::text, t.id, t.municipality, t.cell, t.month
          from unnest(p_id, v_municipality, p_cell, p_month) with ordinality as t (id, municipality, cell, month, i);
        return;
    end if;

    return query select * from intake_submit_each(
        p_id, p_cell, p_month, p_band, p_category, p_role, p_felt_safety, p_language, p_submission_id,
        p_submission_mac, p_receipt_hash, p_body, p_pii_removed, p_pow_key, p_pow_expires_hour, p_day,
        p_cell_token, p_cell_cap, p_day_token, p_day_cap);
end
$$;
