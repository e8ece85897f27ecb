-- Deliberation (DESIGN.md section 4): discussions, anonymous discussion-scoped participants,
-- statements, votes, routing history and opinion-group snapshots.
--
-- Privacy: no table here holds a time, an address or a serial id. Participants are random
-- 53-bit numbers (JavaScript-safe) known only with their discussion; only SHA-256 of their
-- token is stored. Statement numbers count up within a discussion because statements are
-- public positions, numbered like Polis comments. A participant's rows cascade from the
-- participant row, so self-service erasure is one delete. Citus: every table is keyed by
-- discussion first, so the discussion id is the distribution column of this capability.

create table discussion (
    id             uuid primary key,
    municipality   text not null references municipality (slug) on delete cascade,
    question       text not null check (length(question) between 1 and 500),
    description    text check (length(description) <= 4000),
    languages      text[] not null check (languages <@ array['nl', 'en'] and cardinality(languages) >= 1),
    -- Optional area: H3 resolution-7 cells (resolution in bits 52-55).
    area           bigint[] not null default '{}',
    moderation     text not null check (moderation in ('pre', 'post')),
    -- Normalised terms; a statement containing one carries a content warning.
    warning_terms  text[] not null default '{}',
    state          text not null default 'draft' check (state in ('draft', 'open', 'closed')),
    -- Seed of the opinion-group computation: recomputing the same votes gives the same groups.
    seed           integer not null,
    next_statement integer not null default 1
);
create index discussion_by_municipality on discussion (municipality, state);

create table participant (
    discussion     uuid not null references discussion (id) on delete cascade,
    id             bigint not null check (id > 0 and id < 9007199254740992),
    token_hash     bytea not null unique check (length(token_hash) = 32),
    skip_sensitive boolean not null default false,
    prompts        integer not null default 0 check (prompts >= 0),
    -- The participant id of a Polis import, so an export of an imported discussion keeps it.
    external_ref   integer,
    primary key (discussion, id),
    unique (discussion, external_ref)
);

create table statement (
    discussion    uuid not null references discussion (id) on delete cascade,
    id            integer not null check (id > 0),
    -- NULL for seed statements written by moderators.
    author        bigint,
    body          text not null check (length(body) between 1 and 400),
    normalised    text not null,
    -- float32 sentence embedding (model named in embedding_model); NULL in the lexical fallback.
    embedding     bytea,
    embedding_model text,
    language      text check (language in ('nl', 'en')),
    state         text not null check (state in ('pending', 'accepted', 'rejected')),
    reject_reason text check (reject_reason in ('off-topic', 'personal-story', 'personal-data', 'abusive',
                                                'duplicate', 'not-a-position', 'other')),
    sensitive     boolean not null default false,
    flags         integer not null default 0 check (flags >= 0),
    is_seed       boolean not null default false,
    external_ref  integer,
    primary key (discussion, id),
    foreign key (discussion, author) references participant (discussion, id) on delete cascade,
    check ((state = 'rejected') = (reject_reason is not null))
);
create index statement_by_author on statement (discussion, author) where author is not null;
create index statement_by_normalised on statement (discussion, normalised);

create table statement_flag (
    discussion  uuid not null,
    statement   integer not null,
    participant bigint not null,
    reason      text not null check (reason in ('off-topic', 'personal-data', 'abusive', 'duplicate', 'other')),
    primary key (discussion, statement, participant),
    foreign key (discussion, statement) references statement (discussion, id) on delete cascade,
    foreign key (discussion, participant) references participant (discussion, id) on delete cascade
);

-- One row per participant and statement: the latest vote wins (upsert). agree = +1.
create table vote (
    discussion  uuid not null,
    participant bigint not null,
    statement   integer not null,
    value       smallint not null check (value in (-1, 0, 1)),
    primary key (discussion, participant, statement),
    foreign key (discussion, statement) references statement (discussion, id) on delete cascade,
    foreign key (discussion, participant) references participant (discussion, id) on delete cascade
);
create index vote_by_statement on vote (discussion, statement);

-- Which statements routing has shown to whom, so nothing is shown twice (and for the balance
-- figures, which map each shown statement to its current opinion group).
create table shown (
    discussion  uuid not null,
    participant bigint not null,
    statement   integer not null,
    primary key (discussion, participant, statement),
    foreign key (discussion, statement) references statement (discussion, id) on delete cascade,
    foreign key (discussion, participant) references participant (discussion, id) on delete cascade
);

-- The latest opinion-group computation of a discussion: aggregates only (group sizes,
-- representative statements, consensus, statement groups for routing), msgspec-encoded.
-- Which participant is in which group lives in opinion_member, so erasure removes it at once.
create table opinion_snapshot (
    discussion  uuid primary key references discussion (id) on delete cascade,
    version     integer not null,
    votes       integer not null,
    statements  integer not null,
    result      bytea not null
);

create table opinion_member (
    discussion  uuid not null,
    participant bigint not null,
    group_id    smallint not null,
    primary key (discussion, participant),
    foreign key (discussion, participant) references participant (discussion, id) on delete cascade
);
