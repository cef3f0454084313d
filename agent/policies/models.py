"""What each Claude model accepts: thinking types, effort levels, output and context limits.
The request the loop sends (claude.py) is derived from these, so it is one the model takes.

Where they come from: `client.models.retrieve(model)` (the Models API's `max_tokens`,
`max_input_tokens` and `capabilities`) when it answers, cached per process; else TABLE.

TABLE's sources (platform.claude.com/docs/en/...):
- models/<model>/overview: context window and max output of every row; "Adaptive (always
  on)" for Fable 5.1, Opus 5.5; Opus 5 "thinking on by default, can be disabled only at
  effort high or lower"; Sonnet 5 "manual extended thinking returns 400".
- build-with-claude/thinking-troubleshooting ("Thinking support ... by model"): enabled
  (budget_tokens) deprecated but accepted on Opus 4.6 and Sonnet 4.6; rejected (400) on
  Opus 4.7, Opus 4.8, Sonnet 5, Fable 5, Mythos 5; the only mode on Opus 4.5 and Haiku 4.5;
  Mythos Preview accepts both modes.
- build-with-claude/effort: effort on Fable 5, Mythos 5, Opus 5, Opus 4.8, Mythos Preview,
  Opus 4.7, Opus 4.6, Sonnet 5, Sonnet 4.6, Opus 4.5; `max` on all of them but Opus 4.5;
  `xhigh` on Fable 5, Mythos 5, Opus 5, Opus 4.8, Opus 4.7, Sonnet 5.
- models/fable-5/migration-guide: Fable 5 and Mythos 5 reject `disabled` and `enabled`.
- build-with-claude/prompt-engineering/prompting-claude-fable-5-1: all five effort levels.
- models/opus-5-5/whats-new-opus-5-5: thinking cannot be disabled (Opus 5.5, Fable 5.1).
- build-with-claude/preserved-thinking: the models whose thinking blocks are bound to the
  conversation before them (Fable/Mythos 5.1 and 5.2, Opus 5.5, Sonnet 5.5, Haiku 5.5).
- models/sonnet-5-5/whats-new-sonnet-5-5 ("Turn off up-front thinking", read in its zh-CN
  and zh-TW versions): Sonnet 5.5 turns thinking off with `between_tools` and answers
  `disabled` with a 400; `between_tools` is accepted at effort low, medium and high, and
  answered with a 400 at xhigh or max; with `between_tools` the effort cannot change
  mid-conversation.
- build-with-claude/effort: Opus 5.5 and Haiku 5.5 default to effort medium, the others to
  high (so `--thinking off` without --effort is within every limit below).
- Secondary (migration write-ups citing the Opus/Haiku 5.5 migration guides;
  openrouter.ai/anthropic/claude-haiku-5.5): Haiku 5.5 can turn thinking off at effort
  low, medium and high; the three 5.5 models take the five effort levels.
- The installed SDK (anthropic._data): MODELS_TO_WARN_WITH_THINKING_ENABLED names Opus 4.6
  and Mythos Preview (enabled thinking deprecated there, so accepted); DEPRECATED_MODELS
  lists Mythos Preview and Opus 4.5 with their end of life.
Not stated in any documentation found, so the conservative request is chosen (see `note`):
Fable/Mythos 5.2 effort levels beyond high; Mythos Preview's limits (32,000 output tokens
and a 200,000-token window assumed, the smallest of any listed model's) and whether it
thinks when `thinking` is omitted (assumed yes: `--thinking off` is refused).
"""

from __future__ import annotations

from dataclasses import dataclass

EFFORTS = ("low", "medium", "high", "xhigh", "max")  # output_config.effort, weakest first
DEFAULT_MAX_TOKENS = 64_000  # a response's max_tokens unless asked: the model's, up to this

_ALL = EFFORTS
_NO_XHIGH = ("low", "medium", "high", "max")
_UP_TO_HIGH = ("low", "medium", "high")


@dataclass(frozen=True)
class ModelCaps:
    """What one model accepts. `thinking`: the `thinking.type` values it takes besides
    omitting the field; `off`: the type that turns thinking off (None: it cannot be turned
    off, or it is off when omitted); `effort_limits`: (thinking type, the highest effort
    that type is accepted at) pairs, a type absent taking every effort; `fixed_effort`: the
    thinking types under which a conversation's effort cannot change once answered."""

    model: str
    thinking: tuple[str, ...]
    thinks_by_default: bool
    efforts: tuple[str, ...]
    max_output: int
    context_window: int
    off: str | None = None
    effort_limits: tuple[tuple[str, str], ...] = ()
    fixed_effort: tuple[str, ...] = ()
    preserved_thinking: bool = False
    note: str = ""  # what the documentation does not state for this model
    source: str = "table"  # or "models-api"

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _caps(model: str, **kw) -> ModelCaps:
    return ModelCaps(model=model, **kw)


_ADAPTIVE_ONLY = dict(thinking=("adaptive",), thinks_by_default=True, max_output=128_000,
                      context_window=1_000_000)
_OPUS_4_7_UP = dict(thinking=("adaptive", "disabled"), thinks_by_default=False, efforts=_ALL,
                    max_output=128_000, context_window=1_000_000)
_FOUR_SIX = dict(thinking=("adaptive", "enabled", "disabled"), thinks_by_default=False,
                 efforts=_NO_XHIGH, max_output=128_000, context_window=1_000_000)
_FOUR_FIVE = dict(thinking=("enabled", "disabled"), thinks_by_default=False, max_output=64_000,
                  context_window=200_000)
_UNSTATED_5_2 = "effort levels above high are not documented for this model: not offered"

TABLE: dict[str, ModelCaps] = {m: c for m, c in [
    *[(m, _caps(m, efforts=_UP_TO_HIGH, preserved_thinking=True, note=_UNSTATED_5_2,
                **_ADAPTIVE_ONLY)) for m in ("claude-fable-5-2", "claude-mythos-5-2")],
    *[(m, _caps(m, efforts=_ALL, preserved_thinking=True, **_ADAPTIVE_ONLY))
      for m in ("claude-fable-5-1", "claude-mythos-5-1", "claude-opus-5-5")],
    *[(m, _caps(m, efforts=_ALL, **_ADAPTIVE_ONLY)) for m in ("claude-fable-5",
                                                              "claude-mythos-5")],
    ("claude-opus-5", _caps("claude-opus-5", thinking=("adaptive", "disabled"),
                            thinks_by_default=True, efforts=_ALL, max_output=128_000,
                            context_window=1_000_000, off="disabled",
                            effort_limits=(("disabled", "high"),))),
    ("claude-sonnet-5-5", _caps("claude-sonnet-5-5", thinking=("adaptive", "between_tools"),
                                thinks_by_default=True, efforts=_ALL, max_output=128_000,
                                context_window=1_000_000, off="between_tools",
                                effort_limits=(("between_tools", "high"),),
                                fixed_effort=("between_tools",), preserved_thinking=True)),
    ("claude-sonnet-5", _caps("claude-sonnet-5", thinking=("adaptive", "disabled"),
                              thinks_by_default=True, efforts=_ALL, max_output=128_000,
                              context_window=1_000_000, off="disabled")),
    ("claude-haiku-5-5", _caps("claude-haiku-5-5", thinking=("adaptive", "disabled"),
                               thinks_by_default=True, efforts=_ALL, max_output=128_000,
                               context_window=1_000_000, off="disabled",
                               effort_limits=(("disabled", "high"),), preserved_thinking=True)),
    *[(m, _caps(m, **_OPUS_4_7_UP)) for m in ("claude-opus-4-8", "claude-opus-4-7")],
    ("claude-mythos-preview", _caps(
        "claude-mythos-preview", thinking=("adaptive", "enabled"), thinks_by_default=True,
        efforts=_NO_XHIGH, max_output=32_000, context_window=200_000,
        note="limits and thinking default not documented: 32,000 output tokens and a "
             "200,000-token window assumed; --thinking off refused")),
    *[(m, _caps(m, **_FOUR_SIX)) for m in ("claude-opus-4-6", "claude-sonnet-4-6")],
    *[(m, _caps(m, efforts=(), **_FOUR_FIVE))
      for m in ("claude-haiku-4-5", "claude-haiku-4-5-20251001")],
    *[(m, _caps(m, efforts=_UP_TO_HIGH, **_FOUR_FIVE))
      for m in ("claude-opus-4-5", "claude-opus-4-5-20251101")],
]}


class UnknownModel(ValueError):
    """Neither the Models API nor the table describes the model."""


_CACHE: dict[str, ModelCaps] = {}


def clear_cache() -> None:
    _CACHE.clear()


def capabilities(model: str, client=None) -> ModelCaps:
    """The model's capabilities: the Models API's answer (once per process and model) when
    a client is given and the API describes it, else TABLE's row; UnknownModel if neither."""
    if model in _CACHE:
        return _CACHE[model]
    caps = _from_api(model, client) if client is not None else None
    caps = caps or TABLE.get(model)
    if caps is None:
        raise UnknownModel(f"unknown model {model!r}: not in agent/policies/models.py and the "
                           f"Models API did not describe it; the models known: "
                           f"{', '.join(sorted(TABLE))}")
    if client is not None:
        _CACHE[model] = caps
    return caps


def _from_api(model: str, client) -> ModelCaps | None:
    """ModelCaps from client.models.retrieve; None when it cannot say (no such model, no
    network, no capabilities in the answer): the table is the fallback."""
    try:
        import anthropic

        info = client.models.retrieve(model)
    except (ImportError, AttributeError):
        return None
    except anthropic.APIError:
        return None
    caps = getattr(info, "capabilities", None)
    if caps is None or not info.max_tokens:
        return None
    types = caps.thinking.types
    accepted = tuple(t for t in ("adaptive", "enabled", "disabled", "between_tools")
                     if caps.thinking.supported and getattr(types, t).supported)
    efforts = tuple(e for e in EFFORTS if caps.effort.supported
                    and getattr(caps.effort, e, None) is not None
                    and getattr(caps.effort, e).supported)
    known = TABLE.get(model)
    off = next((t for t in ("disabled", "between_tools") if t in accepted), None)
    return ModelCaps(
        model=model, thinking=accepted,
        # the Models API does not say whether thinking runs when `thinking` is omitted: the
        # table does; for a model it lacks, assume it does (then a request asks for the
        # summarized display, which every adaptive model takes)
        thinks_by_default=known.thinks_by_default if known else True,
        efforts=efforts, max_output=int(info.max_tokens),
        context_window=int(info.max_input_tokens or (known.context_window if known
                                                    else 200_000)),
        off=off if (known is None or known.thinks_by_default) else None,
        effort_limits=known.effort_limits if known else (),
        fixed_effort=known.fixed_effort if known else (),
        preserved_thinking=known.preserved_thinking if known else True,
        note=known.note if known else "", source="models-api")


# ---------------------------------------------------------------------------- requests

@dataclass(frozen=True)
class Settings:
    """The request fields one run sends for thinking and effort."""

    thinking: dict | None  # the `thinking` field, None: omitted
    output_config: dict | None  # {"effort": ...}, None: omitted
    budget_tokens: int = 0  # what max_tokens must stay above (enabled thinking)


def settings(caps: ModelCaps, thinking: int | str | None, effort: str | None) -> Settings:
    """What to send for `--thinking` (None: the model's default; 'on'; 'off'; a budget in
    tokens) and `--effort`; ValueError with a one-line message when the model takes neither
    that thinking nor that effort, or not the two together."""
    if effort is not None and effort not in caps.efforts:
        offered = ", ".join(caps.efforts) or "none: the model takes no effort parameter"
        raise ValueError(f"--effort {effort}: {caps.model} takes {offered}")
    sent = Settings(_thinking(caps, thinking), {"effort": effort} if effort else None,
                    thinking if isinstance(thinking, int) else 0)
    kind = (sent.thinking or {}).get("type")
    limit = dict(caps.effort_limits).get(kind)
    if limit and effort and EFFORTS.index(effort) > EFFORTS.index(limit):
        asked = "off" if kind == caps.off else thinking
        raise ValueError(f"--thinking {asked}: {caps.model} takes thinking {kind} only at "
                         f"effort {limit} or lower, not {effort}")
    return sent


def _thinking(caps: ModelCaps, thinking: int | str | None) -> dict | None:
    """The `thinking` field for `--thinking` (None: omitted)."""
    summarized = {"type": "adaptive", "display": "summarized"}
    if isinstance(thinking, int):
        if "enabled" not in caps.thinking:
            raise ValueError(f"--thinking {thinking}: {caps.model} takes no thinking budget "
                             f"(it thinks adaptively; set its depth with --effort)")
        return {"type": "enabled", "budget_tokens": thinking}
    if thinking is None:
        # a model that thinks anyway is asked for its summarized reasoning, so that the
        # transcript shows it (the newer models omit it by default)
        on = caps.thinks_by_default and "adaptive" in caps.thinking
        return summarized if on else None
    if thinking in ("on", "adaptive"):  # 'adaptive' is a synonym transcripts may carry
        if "adaptive" not in caps.thinking:
            raise ValueError(f"--thinking on: {caps.model} thinks only with a token budget; "
                             f"give --thinking N (N >= 1024)")
        return summarized
    if not caps.thinks_by_default:
        return None
    if caps.off is None:
        raise ValueError(f"--thinking off: {caps.model} always thinks; lower --effort "
                         f"instead")
    return {"type": caps.off}


def check_effort_change(caps: ModelCaps, before: Settings, after: Settings) -> None:
    """ValueError (one line) when a conversation answered under `before` would go on under
    `after` with another effort where the model holds one effort per conversation."""
    effort = [(s.output_config or {}).get("effort") for s in (before, after)]
    kinds = {(s.thinking or {}).get("type") for s in (before, after)}
    fixed = sorted(kinds & set(caps.fixed_effort))
    if effort[0] != effort[1] and fixed:
        raise ValueError(f"--effort {effort[1] or 'default'}: {caps.model} keeps one effort "
                         f"through a conversation with thinking {fixed[0]}, and this one "
                         f"was answered at {effort[0] or 'its default'}; start a new run")
