"""Structural checks of the Rasa 3.x project in chatbot/rasa, without Rasa installed.

The files must be trainable as they are by `rasa train` (Rasa open source 3.6+). Rasa is not a
dependency of straatstem, so this test reads the YAML itself and checks what Rasa would reject
or silently get wrong: formats and versions, intents and actions declared in the domain,
examples per language, personal data in examples, slot mappings and forms, the action
endpoint, and (with a small replay of RulePolicy's contradiction check) that the stories agree
with the rules.

`DECLARED_ACTIONS` (the custom actions of domain.yml) is exported for comparison with the
action server's registry.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from privacy import pii

RASA_DIR = Path(__file__).resolve().parents[2] / "chatbot" / "rasa"
# Files Rasa reads as training data or domain; these carry `version: "3.1"`. config.yml,
# endpoints.yml and credentials.yml have no version key in Rasa 3 (in credentials.yml every
# top-level key is a channel name).
VERSIONED_FILES = ("domain.yml", "data/nlu.yml", "data/rules.yml", "data/stories.yml")
OTHER_FILES = ("config.yml", "endpoints.yml", "credentials.yml")
LANGUAGES = ("nl", "en")
MIN_EXAMPLES_PER_LANGUAGE = 8

# Rasa 3 defaults: available without being declared in the domain.
RASA_DEFAULT_ACTIONS = frozenset(
    {
        "action_listen",
        "action_restart",
        "action_session_start",
        "action_default_fallback",
        "action_deactivate_loop",
        "action_revert_fallback_events",
        "action_default_ask_affirmation",
        "action_default_ask_rephrase",
        "action_two_stage_fallback",
        "action_unlikely_intent",
        "action_back",
        "action_extract_slots",
    }
)
RASA_DEFAULT_INTENTS = frozenset({"restart", "back", "out_of_scope", "session_start", "nlu_fallback"})
SLOT_TYPES = frozenset({"text", "bool", "categorical", "float", "list", "any"})
MAPPING_TYPES = frozenset({"from_entity", "from_intent", "from_trigger_intent", "from_text", "custom"})
# Intents that must interrupt the statement form instead of being taken as its answer.
FORM_INTERRUPTIONS = frozenset({"help", "stop", "change_language", "delete_my_data"})
# Components that tie the pipeline to one language (the bot is Dutch and English).
LANGUAGE_SPECIFIC_COMPONENTS = frozenset(
    {
        "SpacyNLP",
        "SpacyTokenizer",
        "SpacyFeaturizer",
        "SpacyEntityExtractor",
        "MitieNLP",
        "MitieTokenizer",
        "MitieFeaturizer",
        "MitieEntityExtractor",
        "MitieIntentClassifier",
        "JiebaTokenizer",
    }
)


def _load(relative: str) -> Any:
    with (RASA_DIR / relative).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


DOMAIN: dict[str, Any] = _load("domain.yml")
DECLARED_ACTIONS: frozenset[str] = frozenset(DOMAIN.get("actions") or ())
NLU: list[dict[str, Any]] = _load("data/nlu.yml")["nlu"]
RULES: list[dict[str, Any]] = _load("data/rules.yml")["rules"]
STORIES: list[dict[str, Any]] = _load("data/stories.yml")["stories"]
CONFIG: dict[str, Any] = _load("config.yml")

DOMAIN_INTENTS = frozenset(DOMAIN["intents"])
SLOTS: dict[str, dict[str, Any]] = DOMAIN["slots"]
FORMS: dict[str, dict[str, Any]] = DOMAIN.get("forms") or {}
RESPONSES: dict[str, Any] = DOMAIN.get("responses") or {}


def _examples(block: dict[str, Any]) -> list[str]:
    text = block["examples"]
    assert isinstance(text, str), f"examples of intent {block['intent']!r} must be a block string"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        assert line.startswith("- "), f"example line {line!r} of intent {block['intent']!r} must start with '- '"
    return [line[2:].strip() for line in lines]


def _all_examples() -> Iterator[tuple[str, str, str]]:
    """(intent, language, example) for every NLU example."""
    for block in NLU:
        if "intent" in block:
            language = (block.get("metadata") or {}).get("language")
            for example in _examples(block):
                yield block["intent"], language, example


def _steps(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(item.get("condition") or []), *item["steps"]]


def _intents_in(items: list[dict[str, Any]]) -> set[str]:
    return {step["intent"] for item in items for step in _steps(item) if "intent" in step}


def _actions_in(items: list[dict[str, Any]]) -> set[str]:
    return {step["action"] for item in items for step in _steps(item) if "action" in step}


def _slots_set_in(items: list[dict[str, Any]]) -> Iterator[tuple[str, str, Any]]:
    for item in items:
        name = item.get("rule") or item.get("story")
        for step in _steps(item):
            for entry in step.get("slot_was_set") or []:
                for slot, value in entry.items():
                    yield name, slot, value


def _featurized(slot: str) -> bool:
    definition = SLOTS[slot]
    return bool(definition.get("influence_conversation", definition["type"] != "any"))


# --------------------------------------------------------------------------- files, versions


@pytest.mark.parametrize("relative", VERSIONED_FILES)
def test_versioned_files_parse_and_have_version_3_1(relative: str) -> None:
    content = _load(relative)
    assert isinstance(content, dict), f"{relative} must be a YAML mapping"
    assert str(content.get("version")) == "3.1", f'{relative} must start with version: "3.1"'


@pytest.mark.parametrize("relative", OTHER_FILES)
def test_other_files_parse(relative: str) -> None:
    content = _load(relative)
    assert isinstance(content, dict), f"{relative} must be a YAML mapping"
    if relative == "credentials.yml":
        assert "version" not in content, "every top-level key of credentials.yml is read as a channel name"


# -------------------------------------------------------------------------------- intents


def test_intents_are_declared_in_the_domain_and_vice_versa() -> None:
    nlu_intents = {intent for intent, _, _ in _all_examples()}
    used = _intents_in(RULES) | _intents_in(STORIES)
    assert len(DOMAIN["intents"]) == len(DOMAIN_INTENTS), "domain.yml lists an intent twice"
    assert not nlu_intents - DOMAIN_INTENTS, f"intents in nlu.yml but not in domain.yml: {nlu_intents - DOMAIN_INTENTS}"
    assert not DOMAIN_INTENTS - nlu_intents, f"intents in domain.yml without examples: {DOMAIN_INTENTS - nlu_intents}"
    undeclared = used - DOMAIN_INTENTS - RASA_DEFAULT_INTENTS
    assert not undeclared, f"intents used in rules/stories but not declared in domain.yml: {undeclared}"
    unused = DOMAIN_INTENTS - used
    assert not unused, f"intents no rule or story reacts to: {unused}"


def test_every_intent_block_names_its_language() -> None:
    for block in NLU:
        if "intent" in block:
            language = (block.get("metadata") or {}).get("language")
            assert language in LANGUAGES, (
                f"intent block {block['intent']!r} needs metadata: {{language: nl|en}}, has {language!r}"
            )


def test_every_intent_has_enough_dutch_and_english_examples() -> None:
    counts = Counter((intent, language) for intent, language, _ in _all_examples())
    for intent in sorted(DOMAIN_INTENTS):
        for language in LANGUAGES:
            assert counts[intent, language] >= MIN_EXAMPLES_PER_LANGUAGE, (
                f"intent {intent!r} has {counts[intent, language]} {language} examples, "
                f"needs at least {MIN_EXAMPLES_PER_LANGUAGE}"
            )


def test_no_example_occurs_twice() -> None:
    seen: dict[str, str] = {}
    for intent, _, example in _all_examples():
        key = " ".join(example.casefold().split())
        assert key not in seen, f"example {example!r} occurs in intent {seen[key]!r} and again in {intent!r}"
        seen[key] = intent


def test_no_example_contains_personal_data() -> None:
    for intent, _, example in _all_examples():
        result = pii.scrub(example)
        assert result.changed is False, f"example {example!r} of intent {intent!r} contains {sorted(result.found)}"


# -------------------------------------------------------------------------------- actions


def test_actions_in_rules_and_stories_are_declared_or_rasa_defaults() -> None:
    known = DECLARED_ACTIONS | RASA_DEFAULT_ACTIONS | set(FORMS) | {r for r in RESPONSES if r.startswith("utter_")}
    for name, items in (("rules.yml", RULES), ("stories.yml", STORIES)):
        unknown = _actions_in(items) - known
        assert not unknown, f"actions in {name} that domain.yml does not declare: {sorted(unknown)}"


def test_declared_actions_are_unique_and_predicted_somewhere() -> None:
    assert len(DOMAIN["actions"]) == len(DECLARED_ACTIONS), "domain.yml lists an action twice"
    # Called by Rasa itself, not predicted by a policy: session start, the form's questions and
    # the form's validator.
    called_by_rasa = {"action_session_start"} | {
        action for action in DECLARED_ACTIONS if action.startswith(("action_ask_", "validate_"))
    }
    unused = DECLARED_ACTIONS - called_by_rasa - _actions_in(RULES) - _actions_in(STORIES)
    assert not unused, f"declared actions no rule or story uses: {sorted(unused)}"


def test_fallback_response_exists() -> None:
    assert "utter_default" in RESPONSES, "action_default_fallback needs the response utter_default"
    variants = RESPONSES["utter_default"]
    assert any("condition" not in variant for variant in variants), "utter_default needs a variant without condition"


# ------------------------------------------------------------------------- slots and forms


def test_slots_have_valid_types_and_mappings() -> None:
    for slot, definition in SLOTS.items():
        assert definition.get("type") in SLOT_TYPES, f"slot {slot!r} has invalid type {definition.get('type')!r}"
        assert "influence_conversation" in definition, f"slot {slot!r} must say influence_conversation explicitly"
        if definition["type"] == "categorical":
            assert definition.get("values"), f"categorical slot {slot!r} needs values"
        mappings = definition.get("mappings")
        assert mappings, f"slot {slot!r} needs mappings (required in Rasa 3)"
        for mapping in mappings:
            assert mapping.get("type") in MAPPING_TYPES, (
                f"slot {slot!r} has invalid mapping type {mapping.get('type')!r}"
            )
            assert "action" not in mapping, f"slot {slot!r}: a custom mapping action would run after every message"
            for condition in mapping.get("conditions") or []:
                assert condition.get("active_loop") in FORMS, f"slot {slot!r}: condition on unknown form {condition}"


def test_only_awaiting_steers_the_dialogue() -> None:
    featurized = {slot for slot in SLOTS if _featurized(slot)}
    assert featurized == {"awaiting"}, f"only `awaiting` may influence the conversation, found {sorted(featurized)}"
    assert SLOTS["language"]["type"] == "categorical"
    assert set(SLOTS["language"]["values"]) == set(LANGUAGES)


def test_slots_in_rules_and_stories_exist_and_rule_conditions_are_featurized() -> None:
    for items in (RULES, STORIES):
        for name, slot, value in _slots_set_in(items):
            assert slot in SLOTS or slot == "requested_slot", f"{name!r} sets unknown slot {slot!r}"
            if slot in SLOTS and SLOTS[slot]["type"] == "categorical" and value is not None:
                assert value in SLOTS[slot]["values"], f"{name!r} sets {slot}={value!r}, not one of its values"
    for name, slot, _ in _slots_set_in(RULES):
        if slot != "requested_slot":
            # Rules only see featurized slots; a condition on another slot would never match.
            assert _featurized(slot), f"rule {name!r} uses slot {slot!r}, which has influence_conversation: false"


def test_form_slots_exist_and_are_filled_from_text_while_the_form_asks_for_them() -> None:
    assert set(FORMS) == {"statement_form"}
    for form, definition in FORMS.items():
        required = definition["required_slots"]
        assert required == ["experience", "position", "reason"], f"{form} must ask experience, position, reason"
        assert f"validate_{form}" in DECLARED_ACTIONS, f"validate_{form} must be declared"
        for slot in required:
            assert slot in SLOTS, f"required slot {slot!r} of {form} is not a slot"
            assert f"action_ask_{slot}" in DECLARED_ACTIONS, f"action_ask_{slot} must be declared for {form}"
            (mapping,) = SLOTS[slot]["mappings"]
            assert mapping["type"] == "from_text", f"{slot!r} must be filled from the text"
            assert mapping["conditions"] == [{"active_loop": form, "requested_slot": slot}], (
                f"{slot!r} may only be filled while {form} asks for it"
            )
            assert set(mapping.get("not_intent") or ()) == FORM_INTERRUPTIONS, (
                f"{slot!r} must not be filled by {sorted(FORM_INTERRUPTIONS)} (they interrupt the form)"
            )


def test_form_interruptions_have_rules_inside_the_form() -> None:
    for intent in FORM_INTERRUPTIONS:
        assert any(
            {"active_loop": "statement_form"} in (rule.get("condition") or [])
            and rule["steps"][0] == {"intent": intent}
            for rule in RULES
        ), f"no rule handles {intent!r} while statement_form is active"


def test_session_config() -> None:
    session = DOMAIN["session_config"]
    assert session["session_expiration_time"] > 0
    assert isinstance(session["carry_over_slots_to_new_session"], bool)


# ----------------------------------------------------------------- endpoints and config


def test_action_endpoint_is_our_action_server() -> None:
    url = urlparse(_load("endpoints.yml")["action_endpoint"]["url"])
    assert url.port == 5055, f"the action server listens on 5055, endpoints.yml says {url.port}"
    assert url.path == "/webhook", f"rasa-sdk serves actions on /webhook, endpoints.yml says {url.path}"


def test_credentials_offer_rest_and_socketio_with_metadata() -> None:
    credentials = _load("credentials.yml")
    assert "rest" in credentials
    assert credentials["socketio"]["metadata_key"] == "metadata"


def test_config_is_a_language_agnostic_pipeline_with_rules() -> None:
    assert CONFIG.get("recipe") == "default.v1"
    assert CONFIG.get("language")
    components = [component["name"] for component in CONFIG["pipeline"]]
    for required in (
        "WhitespaceTokenizer",
        "RegexFeaturizer",
        "LexicalSyntacticFeaturizer",
        "CountVectorsFeaturizer",
        "DIETClassifier",
        "EntitySynonymMapper",
        "FallbackClassifier",
    ):
        assert required in components, f"pipeline lacks {required}"
    assert not set(components) & LANGUAGE_SPECIFIC_COMPONENTS, "the pipeline must serve Dutch and English"
    analyzers = {c.get("analyzer", "word") for c in CONFIG["pipeline"] if c["name"] == "CountVectorsFeaturizer"}
    assert analyzers == {"word", "char_wb"}, "word counts and char_wb n-grams are both needed"
    (fallback,) = (c for c in CONFIG["pipeline"] if c["name"] == "FallbackClassifier")
    policies = {policy["name"]: policy for policy in CONFIG["policies"]}
    assert {"MemoizationPolicy", "RulePolicy", "TEDPolicy"} <= set(policies)
    assert policies["TEDPolicy"]["max_history"] == 5
    core_threshold = policies["RulePolicy"].get("core_fallback_threshold", 0.3)
    assert 0 < core_threshold < fallback["threshold"] < 1, "NLU fallback threshold must lie above the core one"
    assert policies["RulePolicy"].get("core_fallback_action_name", "action_default_fallback") in (
        RASA_DEFAULT_ACTIONS | DECLARED_ACTIONS
    )


# ---------------------------------------------------------------------------------- rules


def test_rules_have_at_most_one_user_message() -> None:
    for rule in RULES:
        users = sum("intent" in step for step in rule["steps"])
        assert users <= 1, f"rule {rule['rule']!r} has {users} user messages (RulePolicy allows one)"


def test_rules_say_what_the_form_does_to_the_active_loop() -> None:
    # Otherwise RulePolicy rejects the rule as incomplete.
    for rule in RULES:
        steps = rule["steps"]
        for index, step in enumerate(steps):
            if step.get("action") in FORMS:
                follows = steps[index + 1] if index + 1 < len(steps) else None
                assert (follows is not None and "active_loop" in follows) or (
                    follows is None and rule.get("wait_for_user_input") is False
                ), f"rule {rule['rule']!r}: {step['action']} must be followed by active_loop"


def test_stories_cover_the_required_paths() -> None:
    assert len(STORIES) >= 4
    used = _intents_in(STORIES)
    for intent in ("skip", "edit", "post_anyway", "vote_existing", "delete_my_data", "help", "where_do_i_stand"):
        assert intent in used, f"no story shows the path with {intent!r}"
    for story in STORIES:
        assert story["steps"][-1] in ({"action": "action_stop"}, {"active_loop": None}), (
            f"story {story['story']!r} should end with the resident stopping"
        )


# -------------------------------------------- replay of RulePolicy's contradiction check
#
# A simplified copy of what `rasa train` does in RulePolicy._analyze_rules: every rule becomes a
# lookup from the dialogue states since its `...` snippet to the next action, and every story and
# rule is replayed; where a rule applies (the longest matching one wins, a running form wins over
# rules unless it rejected the message) its prediction must be the action that follows.
# Simplifications: no end-to-end text, no entities, no loop "negative rules".

SNIPPET = "..."
LISTEN = "action_listen"
SHOULD_NOT_BE_SET = "should_not_be_set"

Event = tuple[Any, ...]


def _events(steps: list[dict[str, Any]], events: list[Event], *, rule: bool) -> None:
    for step in steps:
        if "intent" in step:
            if not events or events[-1] != ("action", LISTEN):
                events.append(("action", LISTEN))
            events.append(("user", step["intent"]))
        elif "action" in step:
            events.append(("action", step["action"]))
        elif "active_loop" in step:
            loop = step["active_loop"]
            events.append(("loop", SHOULD_NOT_BE_SET if loop is None and rule else loop))
        elif "slot_was_set" in step:
            for entry in step["slot_was_set"]:
                for slot, value in entry.items():
                    events.append(("slot", slot, SHOULD_NOT_BE_SET if value is None and rule else value))


def _rule_events(rule: dict[str, Any]) -> list[Event]:
    events: list[Event] = []
    _events(rule.get("condition") or [], events, rule=True)
    if not rule.get("conversation_start"):
        events.append(("action", SNIPPET))
    _events(rule["steps"], events, rule=True)
    if rule.get("wait_for_user_input", True) is False:
        events.append(("action", SNIPPET))
    elif events[-1] != ("action", LISTEN):
        events.append(("action", LISTEN))
    return events


def _story_events(story: dict[str, Any]) -> list[Event]:
    events: list[Event] = []
    _events(story["steps"], events, rule=False)
    if events[-1] != ("action", LISTEN):
        events.append(("action", LISTEN))
    return events


def _slot_feature(slot: str, value: Any) -> Any:
    if value == SHOULD_NOT_BE_SET:
        return SHOULD_NOT_BE_SET
    definition = SLOTS[slot]
    if definition["type"] == "categorical":
        values = [*definition["values"], "__other__"]
        index = values.index(value) if value in values else len(values) - 1
        return [1.0 if i == index else 0.0 for i in range(len(values))]
    return [1.0]


class _Tracker:
    """Dialogue state as RulePolicy sees it: previous action, latest intent, featurized slots,
    active loop."""

    def __init__(self) -> None:
        self.prev_action: str | None = None
        self.intent: str | None = None
        self.slots: dict[str, Any] = {}
        self.loop: str | None = None
        self.rejected = False
        self.states: list[dict[str, Any]] = []

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        if self.prev_action is not None:
            state["prev_action"] = {"action_name": self.prev_action}
        if self.intent is not None:
            state["user"] = {"intent": self.intent}
        slots = {s: _slot_feature(s, v) for s, v in self.slots.items() if v is not None}
        if slots:
            state["slots"] = slots
        if self.loop is not None:
            state["active_loop"] = {"name": self.loop}
        return json.loads(json.dumps(state))

    @property
    def active_loop(self) -> str | None:
        return None if self.loop in (None, SHOULD_NOT_BE_SET) else self.loop

    def apply(self, event: Event) -> None:
        kind = event[0]
        if kind == "action":
            self.states.append(self.state())
            self.prev_action = event[1]
            if event[1] == self.active_loop:
                self.rejected = False
        elif kind == "user":
            self.intent = event[1]
        elif kind == "slot":
            if event[1] in SLOTS and _featurized(event[1]):
                self.slots[event[1]] = event[2]
        elif kind == "loop":
            self.loop = event[1]
            self.rejected = False


def _lookup() -> dict[str, dict[str, set[str]]]:
    """Rule key (JSON of the states since the snippet) -> predicted action -> rule names."""
    lookup: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for rule in RULES:
        tracker = _Tracker()
        for event in _rule_events(rule):
            if event[0] == "action" and event[1] != SNIPPET:
                states = [*tracker.states, tracker.state()]
                since_snippet: list[dict[str, Any]] = []
                for state in reversed(states):
                    if state.get("prev_action", {}).get("action_name") == SNIPPET:
                        break
                    since_snippet.insert(0, state)
                if since_snippet:
                    lookup[json.dumps(since_snippet, sort_keys=True)][event[1]].add(rule["rule"])
            tracker.apply(event)
    return lookup


def _rule_applies(key: str, states: list[dict[str, Any]]) -> bool:
    rule_states = json.loads(key)
    for index, state in enumerate(reversed(states)):
        if index >= len(rule_states):
            return True
        rule_state = rule_states[-1 - index]
        if not rule_state.get("prev_action") and not state.get("prev_action"):
            continue
        if not rule_state.get("prev_action") or not state.get("prev_action"):
            return False
        for part, features in rule_state.items():
            for feature, expected in features.items():
                actual = state.get(part, {}).get(feature)
                if expected == SHOULD_NOT_BE_SET:
                    if actual and actual != SHOULD_NOT_BE_SET:
                        return False
                elif expected and actual != expected:
                    return False
    return True


def _predict(lookup: dict[str, dict[str, set[str]]], tracker: _Tracker) -> tuple[str | None, str]:
    loop = tracker.active_loop
    if loop and not tracker.rejected:
        return (LISTEN if tracker.prev_action == loop else loop), f"running form {loop}"
    states = [*tracker.states, tracker.state()]
    keys = [key for key in lookup if _rule_applies(key, states)]
    if not keys:
        return None, "no rule"
    longest = max(len(key) for key in keys)
    predictions = {action for key in keys if len(key) == longest for action in lookup[key]}
    rules = sorted({rule for key in keys if len(key) == longest for names in lookup[key].values() for rule in names})
    if len(predictions) > 1:
        return f"one of {sorted(predictions)}", f"equally long rules {rules}"
    (predicted,) = predictions
    if loop and predicted == LISTEN and "active_loop" not in json.loads(max(keys, key=len))[-1]:
        predicted = loop
    return predicted, f"rule(s) {rules}"


def _replay(name: str, events: list[Event], lookup: dict[str, dict[str, set[str]]]) -> list[str]:
    errors = []
    tracker = _Tracker()
    unpredictable = True
    for event in events:
        if event[0] == "action":
            action = event[1]
            if action == SNIPPET:
                unpredictable = True
            elif unpredictable:
                unpredictable = False
            else:
                predicted, source = _predict(lookup, tracker)
                if tracker.active_loop and predicted == tracker.active_loop and predicted != action:
                    tracker.rejected = True  # the form rejected the message, as Rasa emulates
                    predicted, source = _predict(lookup, tracker)
                if predicted is not None and predicted != action:
                    errors.append(f"{name!r}: {action} follows, but {source} predict(s) {predicted}")
        tracker.apply(event)
    return errors


def test_rules_do_not_contradict_each_other() -> None:
    lookup = _lookup()
    clashes = [
        {action: sorted(rules) for action, rules in predictions.items()}
        for predictions in lookup.values()
        if len(predictions) > 1
    ]
    assert not clashes, f"rules with the same states predict different actions: {clashes}"
    errors = [error for rule in RULES for error in _replay(f"rule {rule['rule']}", _rule_events(rule), lookup)]
    assert not errors, "contradicting rules:\n" + "\n".join(errors)


def test_stories_agree_with_the_rules() -> None:
    lookup = _lookup()
    errors = [error for story in STORIES for error in _replay(f"story {story['story']}", _story_events(story), lookup)]
    assert not errors, "stories contradicting rules:\n" + "\n".join(errors)


def test_rules_are_complete() -> None:
    # RulePolicy._check_for_incomplete_rules: an action that sets a featurized slot or the
    # active loop in one rule must do so in every rule where another action follows it.
    slots_after: dict[str, set[str]] = defaultdict(set)
    loops_after: dict[str, set[str]] = defaultdict(set)
    for rule in RULES:
        action = None
        for event in _rule_events(rule):
            if event[0] == "action":
                action = event[1]
            elif event[0] == "user":
                action = None
            elif action and event[0] == "slot" and event[1] in SLOTS and _featurized(event[1]):
                slots_after[action].add(event[1])
            elif action and event[0] == "loop":
                loops_after[action].add(event[1])
    errors = []
    for rule in RULES:
        tracker = _Tracker()
        for event in _rule_events(rule):
            tracker.apply(event)
        states = [*tracker.states, tracker.state()]
        following = [state.get("prev_action", {}).get("action_name") for state in states[1:]] + [LISTEN]
        for state, next_action in zip(states, following, strict=True):
            action = state.get("prev_action", {}).get("action_name")
            if not action or SNIPPET in (action, next_action):
                continue
            missing = slots_after[action] - set(state.get("slots", {}))
            if missing:
                errors.append(f"rule {rule['rule']!r}: {action} does not set {sorted(missing)}")
            if loops_after[action] and state.get("active_loop", {}).get("name") not in loops_after[action]:
                errors.append(f"rule {rule['rule']!r}: {action} does not set the active loop")
    assert not errors, "incomplete rules (add the slot or active_loop, or wait_for_user_input: false):\n" + "\n".join(
        errors
    )
