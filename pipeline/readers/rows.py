"""Row schemas of the formats we read, and their conversion to records."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from pipeline.errors import InputDataError
from pipeline.records import Message, Record


class _Row(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class Instance(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    input: str = ""
    output: str


class _InstructionRow(_Row):
    instruction: str

    @field_validator("instruction")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("instruction is empty")
        return v


class SelfInstructRow(_InstructionRow):
    """Self-Instruct's seed_tasks.jsonl: one task with one or more instances."""

    id: str | int | None = None
    name: str = ""
    instances: list[Instance]
    is_classification: bool = False

    @field_validator("instances")
    @classmethod
    def _has_instances(cls, v: list[Instance]) -> list[Instance]:
        if not v:
            raise ValueError("a task needs at least one instance")
        return v


class AlpacaRow(_InstructionRow):
    input: str | None = ""
    output: str | None = ""


class ChatRow(_Row):
    messages: list[Message]


class ShareGPTTurn(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    # "from" is a Python keyword: read it through an alias.
    from_: str
    value: str

    def __init__(self, **data: Any):
        if "from" in data:
            data["from_"] = data.pop("from")
        super().__init__(**data)


class ShareGPTRow(_Row):
    conversations: list[ShareGPTTurn]


_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                   "system": "system"}


def _problem(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    msg = err["msg"]
    if err["type"] == "missing":
        return f"missing required field '{where}'"
    return f"field '{where}': {msg}" if where else msg


def _extra(row: BaseModel, drop: set[str]) -> dict[str, Any]:
    return {k: v for k, v in (row.model_extra or {}).items() if k not in drop}


def to_records(fmt: str, obj: dict[str, Any], *, path: str, line: int, stage: str) -> list[Record]:
    """Validate one row of format `fmt` and turn it into records (a multi-instance task gives several)."""
    try:
        if fmt == "self_instruct":
            row = SelfInstructRow.model_validate(obj)
            meta = {"task_id": str(row.id) if row.id is not None else f"{path}:{line}", "name": row.name,
                    "is_classification": row.is_classification, "source": f"{path}:{line}", **_extra(row, set())}
            return [Record(instruction=row.instruction.strip(), input=inst.input.strip(),
                           output=inst.output.strip(), stage=stage, meta=dict(meta, instance=i))
                    for i, inst in enumerate(row.instances)]
        if fmt == "alpaca":
            row = AlpacaRow.model_validate(obj)
            return [Record(instruction=row.instruction.strip(), input=(row.input or "").strip(),
                           output=(row.output or "").strip(), stage=stage,
                           meta={"source": f"{path}:{line}", **_extra(row, set())})]
        if fmt == "messages":
            row = ChatRow.model_validate(obj)
            return [_chat_record(row.messages, stage, f"{path}:{line}")]
        if fmt == "sharegpt":
            row = ShareGPTRow.model_validate(obj)
            msgs = []
            for turn in row.conversations:
                role = _SHAREGPT_ROLES.get(turn.from_)
                if role is None:
                    raise InputDataError(f"unknown ShareGPT speaker '{turn.from_}'", path=path, line=line)
                msgs.append(Message(role=role, content=turn.value))
            return [_chat_record(msgs, stage, f"{path}:{line}")]
    except ValidationError as exc:
        raise InputDataError(_problem(exc), path=path, line=line) from None
    raise InputDataError(f"unknown format '{fmt}'", path=path)


def _chat_record(messages: list[Message], stage: str, source: str) -> Record:
    """Single-turn chats also fill instruction/output, so every stage can read them."""
    users = [m for m in messages if m.role == "user"]
    assistants = [m for m in messages if m.role == "assistant"]
    single = len(users) == 1 and len(assistants) <= 1
    return Record(
        instruction=users[0].content if users else "",
        output=assistants[0].content if assistants and single else "",
        messages=None if single and not any(m.role == "system" for m in messages) else messages,
        stage=stage, meta={"source": source},
    )


def detect_row_format(obj: dict[str, Any]) -> str | None:
    if "instances" in obj:
        return "self_instruct"
    if "messages" in obj:
        return "messages"
    if "conversations" in obj:
        return "sharegpt"
    if "instruction" in obj:
        return "alpaca"
    return None
