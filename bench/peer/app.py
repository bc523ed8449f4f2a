"""The peer for bench/run.sh: the seed's own stack (FastAPI on uvicorn).

GET /stream_me        the seed's endpoint verbatim: a *sync* generator, ten SSE
                      events 0.5 s apart (Starlette runs it in a thread pool)
GET /stream_me_async  the same with an async generator and asyncio.sleep
GET /firehose?n=N     N events "data: {i}\\n\\n", as fast as possible
GET /hello            "hello\\n" as text/plain

Run (Debian's python, which has fastapi and uvicorn):
  /usr/bin/python3 -m uvicorn app:app --app-dir bench/peer --host 127.0.0.1 \\
      --port 8100 --log-level warning --no-access-log
"""

import asyncio
import time

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, StreamingResponse

app = FastAPI()


# --- exactly as the seed (streaming-endpoints.txt) ---------------------------
def fake_event_streamer():
    for i in range(10):
        yield f"data: some data {i}\n\n".encode()
        time.sleep(0.5)


@app.get("/stream_me")
def stream_me():
    return StreamingResponse(fake_event_streamer(), media_type="text/event-stream")


# --- the same, asynchronous --------------------------------------------------
async def fake_event_streamer_async():
    for i in range(10):
        yield f"data: some data {i}\n\n".encode()
        await asyncio.sleep(0.5)


@app.get("/stream_me_async")
async def stream_me_async():
    return StreamingResponse(fake_event_streamer_async(), media_type="text/event-stream")


# --- throughput ---------------------------------------------------------------
async def firehose_gen(n: int):
    for i in range(n):
        yield f"data: {i}\n\n"


@app.get("/firehose")
async def firehose(n: int = 1000):
    return StreamingResponse(firehose_gen(n), media_type="text/event-stream")


@app.get("/hello", response_class=PlainTextResponse)
async def hello():
    return PlainTextResponse("hello\n")
