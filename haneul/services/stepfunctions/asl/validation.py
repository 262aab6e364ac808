"""Static checks of a definition, with AWS's diagnostic codes and wording.

`diagnose(text, type)` returns the diagnostics ValidateStateMachineDefinition reports;
`check(text, type)` raises DefinitionError with CreateStateMachine's InvalidDefinition message.
"""

from __future__ import annotations

import json
from typing import Any

from haneul.services.stepfunctions.asl.choice import OPERATORS
from haneul.services.stepfunctions.asl.errors import DefinitionError

STATE_TYPES = {"Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}
_LABEL_BAD = set(" <>{}[]?*\"#%\\^|~`$&,;:/") | {chr(c) for c in range(0x20)} | \
    {chr(c) for c in range(0x7F, 0xA0)}


def _diag(code: str, message: str, location: str | None = None) -> dict:
    d = {"code": code, "message": message, "severity": "ERROR"}
    if location is not None:
        d["location"] = location
    return d


class _LabelError(Exception):
    pass


def parse(text: str) -> tuple[Any, list[dict]]:
    try:
        definition = json.loads(text)
    except (TypeError, ValueError, RecursionError):      # RecursionError: nested past the parser's stack
        return None, [_diag("INVALID_JSON_DESCRIPTION", "Definition must be a valid JSON object")
                      if text.strip() else
                      _diag("SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object")]
    if not isinstance(definition, dict):
        return None, [_diag("SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object")]
    return definition, []


def diagnose(text: str, machine_type: str = "STANDARD") -> list[dict]:
    definition, diags = parse(text)
    if diags:
        return diags
    try:
        return _program(definition, "", machine_type, definition.get("QueryLanguage", "JSONPath"), top=True)
    except _LabelError:
        return []


def check(text: str, machine_type: str = "STANDARD") -> dict:
    definition, diags = parse(text)
    if not diags:
        try:
            diags = _program(definition, "", machine_type, definition.get("QueryLanguage", "JSONPath"),
                             top=True, labels=True)
        except _LabelError as err:
            raise DefinitionError(f"Error=ValueError Args={[str(err)]!r} in definition '{text}'.") from None
    if diags:
        d = diags[0]
        where = f" at {d['location']}" if "location" in d else ""
        raise DefinitionError(f"Invalid State Machine Definition: '{d['code']}: {d['message']}{where}'", diags)
    return definition


def _program(program: dict, base: str, machine_type: str, language: str, top: bool = False,
             labels: bool = False) -> list[dict]:
    diags: list[dict] = []
    loc = base or "/"
    missing = [k for k in ("States", "StartAt") if k not in program]
    if missing:
        return [_diag("SCHEMA_VALIDATION_FAILED", f"These fields are required: [{', '.join(missing)}]", loc)]
    states = program["States"]
    if not isinstance(states, dict) or not states:
        return [_diag("SCHEMA_VALIDATION_FAILED", "The field 'States' must be a non-empty object", loc)]
    if program["StartAt"] not in states:
        diags.append(_diag("MISSING_TRANSITION_TARGET",
                           f"Missing 'Next' target: {program['StartAt']}", f"{base}/StartAt"))
    if top and program.get("QueryLanguage", "JSONPath") not in ("JSONPath", "JSONata"):
        diags.append(_diag("SCHEMA_VALIDATION_FAILED", "The value of 'QueryLanguage' must be JSONPath or JSONata",
                           "/QueryLanguage"))
    for name, state in states.items():
        sloc = f"{base}/States/{name}"
        if not isinstance(state, dict):
            diags.append(_diag("SCHEMA_VALIDATION_FAILED", "A state must be an object", sloc))
            continue
        diags.extend(_state(name, state, sloc, states, machine_type, language, labels))
    return diags


def _state(name, state, loc, states, machine_type, language, labels) -> list[dict]:
    diags = []
    kind = state.get("Type")
    if kind not in STATE_TYPES:
        return [_diag("SCHEMA_VALIDATION_FAILED", f"The field 'Type' must be one of {sorted(STATE_TYPES)}"
                      if kind else "These fields are required: [Type]", loc)]
    ql = state.get("QueryLanguage", language)
    if language == "JSONata" and ql == "JSONPath":
        diags.append(_diag("SCHEMA_VALIDATION_FAILED",
                           "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine", loc))
    if kind not in ("Choice", "Succeed", "Fail"):
        if "Next" in state and state.get("End"):
            diags.append(_diag("SCHEMA_VALIDATION_FAILED", "Only one of 'Next' or 'End' can be set", loc))
        elif "Next" not in state and not state.get("End"):
            diags.append(_diag("SCHEMA_VALIDATION_FAILED", "One of 'Next' or 'End' is required", loc))
    targets = []
    if "Next" in state:
        targets.append((state["Next"], f"{loc}/Next"))
    if kind == "Choice":
        if not state.get("Choices"):
            diags.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: [Choices]", loc))
        for i, rule in enumerate(state.get("Choices") or []):
            if "Next" in rule:
                targets.append((rule["Next"], f"{loc}/Choices[{i}]/Next"))
            elif isinstance(rule, dict):
                diags.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: [Next]",
                                   f"{loc}/Choices[{i}]"))
        if "Default" in state:
            targets.append((state["Default"], f"{loc}/Default"))
    for i, catcher in enumerate(state.get("Catch") or []):
        if isinstance(catcher, dict) and "Next" in catcher:
            targets.append((catcher["Next"], f"{loc}/Catch[{i}]/Next"))
    for target, tloc in targets:
        if target not in states:
            diags.append(_diag("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {target}", tloc))
    if kind == "Task":
        resource = state.get("Resource")
        if not isinstance(resource, str):
            diags.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: [Resource]", loc))
        elif machine_type == "EXPRESS" and resource.endswith(".waitForTaskToken"):
            diags.append(_diag("SCHEMA_VALIDATION_FAILED",
                               "Express state machine does not support '.waitForTaskToken' service integration ",
                               f"{loc}/Resource"))
        elif machine_type == "EXPRESS" and resource.endswith((".sync", ".sync:2")):
            diags.append(_diag("SCHEMA_VALIDATION_FAILED",
                               "Express state machine does not support '.sync' service integration ",
                               f"{loc}/Resource"))
        creds = state.get("Credentials")
        if creds is not None and not any(k in creds for k in ("RoleArn", "RoleArn.$")):
            diags.append(_diag("SCHEMA_VALIDATION_FAILED", "The field 'RoleArn' is required but was missing",
                               f"{loc}/Credentials"))
    if kind == "Choice" and ql == "JSONPath":
        for i, rule in enumerate(state.get("Choices") or []):
            if isinstance(rule, dict) and not _rule_ok(rule):
                diags.append(_diag("SCHEMA_VALIDATION_FAILED", "A Choice rule must have a comparison operator",
                                   f"{loc}/Choices[{i}]"))
    if kind == "Parallel":
        for i, branch in enumerate(state.get("Branches") or []):
            diags.extend(_program(branch, f"{loc}/Branches[{i}]", machine_type, ql, labels=labels))
    if kind == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor is None:
            diags.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: [ItemProcessor]", loc))
        else:
            key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
            diags.extend(_program(processor, f"{loc}/{key}", machine_type, ql, labels=labels))
        if labels and "Label" in state:
            _check_label(state["Label"])
        diags.extend(_reader_writer(state, loc))
    return diags


# ItemReader.ReaderConfig and ResultWriter.WriterConfig fields that take one of a few words
_MAP_IO_ENUMS = (("ItemReader", "ReaderConfig", "InputType", ("CSV", "JSON", "JSONL", "PARQUET", "MANIFEST")),
                 ("ItemReader", "ReaderConfig", "CSVHeaderLocation", ("FIRST_ROW", "GIVEN")),
                 ("ItemReader", "ReaderConfig", "CSVDelimiter", ("COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB")),
                 ("ItemReader", "ReaderConfig", "ManifestType", ("S3_INVENTORY", "ATHENA_DATA")),
                 ("ResultWriter", "WriterConfig", "Transformation", ("NONE", "COMPACT", "FLATTEN")),
                 ("ResultWriter", "WriterConfig", "OutputType", ("JSON", "JSONL")))


def _reader_writer(state: dict, loc: str) -> list[dict]:
    diags = []
    for field, block_key, key, allowed in _MAP_IO_ENUMS:
        block = state.get(field)
        config = block.get(block_key) if isinstance(block, dict) else None
        if isinstance(config, dict) and key in config and config[key] not in allowed:
            diags.append(_diag("SCHEMA_VALIDATION_FAILED", f"The field '{key}' must be one of {list(allowed)}",
                               f"{loc}/{field}/{block_key}/{key}"))
    writer = state.get("ResultWriter")
    if writer is not None and not (isinstance(writer, dict) and ("WriterConfig" in writer or "Resource" in writer)):
        diags.append(_diag("SCHEMA_VALIDATION_FAILED", "The ResultWriter needs 'Resource' and 'Parameters' "
                           "(or 'Arguments'), 'WriterConfig', or all of them", f"{loc}/ResultWriter"))
    return diags


def _rule_ok(rule: dict) -> bool:
    if "And" in rule or "Or" in rule:
        return all(_rule_ok(r) for r in rule.get("And", rule.get("Or", [])))
    if "Not" in rule:
        return _rule_ok(rule["Not"])
    return "Variable" in rule and any(k in OPERATORS for k in rule)


def _check_label(label: Any) -> None:
    if not isinstance(label, str) or label == "":
        raise _LabelError("Label cannot be empty")
    if len(label) > 40:
        raise _LabelError("Label cannot exceed 40 characters")
    for ch in label:
        if ch in _LABEL_BAD:
            raise _LabelError(f"Label contains invalid character: {ch!r}")
