"""An optional second text source: any OpenAI-compatible chat-completions endpoint.

    client   LlmConfig, the HTTP call with its deadline, LlmError
    prompt   persona + rules (system), market facts + recent chat + task (user)
    reply    the model's text cleaned to one plain chat message
    breaker  stop calling a failing endpoint for a growing cool-down
    source   TextSource, TemplateSource (the default), LlmSource

Everything the model writes passes `guard` and the repeat memory; anything
else falls back to the templates for that call.
"""

from piyasa_bot.llm.breaker import Breaker
from piyasa_bot.llm.client import LlmConfig, LlmError
from piyasa_bot.llm.source import LlmSource, TemplateSource, TextSource

__all__ = ["Breaker", "LlmConfig", "LlmError", "LlmSource", "TemplateSource", "TextSource"]
