"""aiogram's models build on first use (piyasa_bot.aiogram_models), and every one of them still builds."""

from __future__ import annotations

import asyncio
import json
import sys

CHECK = """
import asyncio, json, sys
import piyasa_bot  # before aiogram, as every entry point of the project
import aiogram.methods as methods, aiogram.types as types
from aiogram.methods.base import Response, TelegramMethod
from pydantic import BaseModel

deferred = not types.Message.__pydantic_complete__ and not methods.SendMessage.__pydantic_complete__

async def build_all():
    failed, built = [], 0
    for module in (types, methods):
        for name in module.__all__:
            model = getattr(module, name)
            if not (isinstance(model, type) and issubclass(model, BaseModel)) or model in (TelegramMethod, Response):
                continue
            wrappers = [model]
            if module is methods and hasattr(model, "__returning__"):
                wrappers.append(Response[model.__returning__])
            for cls in wrappers:
                try:
                    cls.__pydantic_validator__.validate_python  # the first use builds it
                except Exception as error:
                    failed.append(f"{cls.__name__}: {type(error).__name__}")
                else:
                    built += cls.__pydantic_complete__
    update = types.Update.model_validate({"update_id": 7, "message": {
        "message_id": 3, "date": 1, "chat": {"id": -100123, "type": "supergroup"},
        "from": {"id": 5, "is_bot": False, "first_name": "Ayşe"}, "text": "merhaba"}})
    return failed, built, update.message.text

failed, built, text = asyncio.run(build_all())
print(json.dumps({"deferred": deferred, "failed": failed, "built": built, "text": text}))
"""


async def test_aiogram_types_build_on_first_use_and_every_one_builds() -> None:
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", CHECK, stdout=asyncio.subprocess.PIPE)
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    result = json.loads(output)
    assert result["deferred"], "aiogram built its models at import"
    assert result["failed"] == []
    assert result["built"] > 700  # every type, method and method's Response wrapper
    assert result["text"] == "merhaba"
