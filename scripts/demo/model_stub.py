"""model_stub.py -- stands in for AFIRGen's model servers on loopback.

POST /inference, /asr and /ocr answer after DEMO_MODEL_DELAY seconds (a
float; AFIRGen's real servers take 10-20 s, the demo default is shorter so a
60 s run sees many calls).  The body is a small JSON document; nothing of the
request is echoed.
"""

import asyncio
import os

from fastapi import FastAPI

DELAY = float(os.environ.get("DEMO_MODEL_DELAY", "1.0"))
app = FastAPI(title="model stub")


async def _answer(kind):
    await asyncio.sleep(DELAY)
    return {"model": kind, "text": "generated draft", "tokens": 128}


@app.post("/inference")
async def inference():
    return await _answer("gguf")


@app.post("/asr")
async def asr():
    return await _answer("asr")


@app.post("/ocr")
async def ocr():
    return await _answer("ocr")
