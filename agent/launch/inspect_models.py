"""The project's offline policies as Inspect AI model providers, so the Inspect task runs
with no network and no key:

    inspect eval agent/launch/inspect_task.py --model speedup/library -T preset=tiny -T device=cpu
    inspect eval agent/launch/inspect_task.py --model speedup/replay \\
        -M transcript=runs/<run id>/transcript.jsonl

`speedup/library` is the library policy (greedy over the kernel library, agent/policies/
library.py), `speedup/replay` the replay policy (a recorded session's responses, turn by
turn, agent/policies/replay.py). Inspect finds them through the `inspect_ai` entry point in
pyproject.toml (its extension mechanism), once the project is installed with `.[inspect]`.

They play only this project's task (agent/launch/inspect_task.py): a request is the
session's conversation, which `conversation` turns back into the Messages API's form the
policies read, with the session's turn (replay answers by its number); the policy's
response goes back as Inspect's output with the policy's own usage (none for the library,
the recorded one for a replay), so nothing counts tokens with a tokenizer that downloads
its encoding. The library policy takes the task's device from the sample's store, where
the task's solver puts it. Imports of the project are lazy: Inspect loads this module
whenever it looks for a provider it does not know.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig, ModelAPI, ModelOutput, modelapi
from inspect_ai.tool import ToolChoice, ToolInfo
from inspect_ai.util import store

POLICIES = ("library", "replay")
DEVICE_KEY = "speedup_device"  # the sample's store: the task's device, set by its solver


class OfflinePolicyAPI(ModelAPI):
    """`speedup/<policy>`: one of POLICIES answering Inspect's requests."""

    def __init__(self, model_name: str, base_url: str | None = None,
                 api_key: str | None = None, config: GenerateConfig | None = None,
                 transcript: str | None = None, **model_args: Any):
        super().__init__(model_name, base_url, api_key, [], config or GenerateConfig())
        if model_name not in POLICIES:
            raise ValueError(f"speedup/{model_name}: the offline policies are "
                             f"{', '.join(f'speedup/{p}' for p in POLICIES)}")
        if (model_name == "replay") != (transcript is not None):
            raise ValueError("speedup/replay, and only it, takes -M transcript=PATH (a "
                             "run's transcript.jsonl)")
        self.replay = None
        if transcript is not None:
            from agent.policies.replay import ReplayPolicy

            self.replay = ReplayPolicy(transcript)
        self._library: dict[str, Any] = {}  # device -> its library policy

    def _policy(self):
        if self.replay is not None:
            return self.replay
        device = store().get(DEVICE_KEY)
        if device is None:
            raise ValueError("speedup/library plays only the Speedup Bench task "
                             "(agent/launch/inspect_task.py)")
        if device not in self._library:
            from agent.launch import project_harness
            from agent.policies.library import LibraryPolicy

            impls = project_harness.ProjectHarness().library(device)
            self._library[device] = LibraryPolicy(impls)
        return self._library[device]

    async def generate(self, input: list[ChatMessage], tools: list[ToolInfo],
                       tool_choice: ToolChoice, config: GenerateConfig) -> ModelOutput:
        from agent.policies.inspect_policy import conversation, model_output

        system, turn, messages = conversation(input)
        if turn is None:
            raise ValueError(f"speedup/{self.model_name} plays only the Speedup Bench task "
                             f"(agent/launch/inspect_task.py)")
        response = self._policy().respond(messages, config.max_tokens or 0, turn=turn,
                                          system=system)
        return model_output(response, f"speedup/{self.model_name}")


@modelapi(name="speedup")
def speedup() -> type[ModelAPI]:
    return OfflinePolicyAPI
