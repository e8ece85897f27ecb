-- The conversation layer (DESIGN.md section 4): statements held for moderation, pausing a
-- discussion, and each participant's chat state.
--
-- Privacy: chat_state holds the participant's own words while they put their view into
-- words (position, reason, draft, and an optional experience that is never published),
-- PII-scrubbed before it is written. It has no time and no serial id, and it cascades from
-- the participant row, so self-service erasure removes it with everything else.

-- Why a statement waits for a moderator even in a post-moderated discussion: the toxicity
-- check was in doubt, or personal data was found (and removed) and a person should check
-- that nothing identifying is left. Accepting the statement clears the hold.
alter table statement add column held text check (held in ('toxicity', 'personal-data'));
alter table statement add constraint statement_held_pending check (held is null or state <> 'accepted');

-- A paused discussion stays readable but takes no new participants, statements or votes.
alter table discussion drop constraint discussion_state_check;
alter table discussion add constraint discussion_state_check
    check (state in ('draft', 'open', 'paused', 'closed'));

create table chat_state (
    discussion  uuid not null,
    participant bigint not null,
    state       bytea not null check (length(state) <= 16384),
    primary key (discussion, participant),
    foreign key (discussion, participant) references participant (discussion, id) on delete cascade
);
