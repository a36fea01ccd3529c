"""The studio's web layer: a FastAPI app serving one page (static/) and a JSON API over :class:`Studio`.

Every answer is JSON; images travel as PNG data URLs. Every POST must carry the header
``X-Gane-Studio: 1``, which the page sends: a page of another site can only send such a header after
a CORS preflight, which the studio never grants, so other sites cannot upload, start work or save
into a run through the user's browser. A user's mistake (a broken upload, a run that
cannot do what was asked) is a 400 with ``{"error": message}``, which the page shows; nothing a page
sends can make the server print a traceback, and a fault of gane's own is a 500 with a short message
(the details go to the server's log). Requests larger than the upload limit are refused before they
are read, and pages served from other hosts cannot reach the API (the Host header is checked when
the studio listens on this machine only).
"""
from __future__ import annotations

import base64
from urllib.parse import unquote
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from ..errors import GaneError
from .core import Studio, size_text

LOOPBACK = ("127.0.0.1", "localhost")
HEADER = "x-gane-studio"


def data_url(b: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(b).decode("ascii")


def urls(value: Any) -> Any:
    """PNG bytes anywhere in an answer -> data URLs the page can show."""
    if isinstance(value, bytes):
        return data_url(value)
    if isinstance(value, dict):
        return {k: urls(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [urls(v) for v in value]
    return value


def from_url(value: str | None) -> bytes | None:
    """A data URL (or bare base64) from the page -> bytes; a clear error when it is not one."""
    if not value:
        return None
    text = value.split(",", 1)[1] if value.startswith("data:") else value
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise GaneError("The painted layer did not arrive as an image (a base64 data URL was expected).") from None


class BodyLimit:
    """Refuses a request body above ``limit`` bytes with a 413, from its Content-Length before reading
    it, or while it streams in when it has none."""

    class TooLarge(Exception):
        pass

    def __init__(self, app, limit: int, shown: int | None = None):
        self.app, self.limit, self.shown = app, limit, shown or limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await self._refuse(send)
        seen = 0
        started = False

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyLimit.TooLarge
            return message

        async def tracked(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except BodyLimit.TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send):
        await too_large(self.shown)({"type": "http"}, None, send)


class SameSite:
    """Refuses a POST without the page's own header (see the module docstring), or one a browser
    marks as sent from another site."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(scope.get("headers") or [])
            if headers.get(HEADER.encode()) != b"1" or headers.get(b"sec-fetch-site") == b"cross-site":
                response = JSONResponse({"error": "The studio takes requests from its own page only (the X-Gane-Studio header "
                                                  "was missing, or the request came from another site)."}, status_code=403)
                return await response(scope, receive, send)
        return await self.app(scope, receive, send)


def too_large(limit: int) -> JSONResponse:
    return JSONResponse({"error": f"The upload is larger than the studio's limit of {size_text(limit)} "
                                  "(gane studio --max-upload-mb sets it)."}, status_code=413)


class RunArgs(BaseModel):
    run: str


class SampleArgs(RunArgs):
    seed: int = Field(0, ge=0)
    n: int = Field(16, ge=1, le=64)
    cls: int | None = None
    parts: dict[str, float | int | None] = {}
    psi: float = Field(1.0, ge=0, le=2)
    clusters: int | None = None


class ImageArgs(RunArgs):
    image: str
    encoder: str | None = None


class InvertArgs(ImageArgs):
    method: str = "optimize"
    steps: int = 200
    space: str = "z"


class FitArgs(RunArgs):
    method: str = "x-reconstruction"
    name: str | None = None
    steps: int = 1000


class EditArgs(ImageArgs):
    alphas: dict[str, float] = {}


class InterpolateArgs(RunArgs):
    a: str
    b: str
    t: float = 0.5
    mode: str = "linear"
    encoder: str | None = None


class ArithmeticArgs(RunArgs):
    a: str
    b: str
    c: str
    encoder: str | None = None


class SaveArgs(RunArgs):
    direction: str
    name: str
    encoder: str | None = None


class PaintStartArgs(ImageArgs):
    steps: int = 200


class PaintArgs(RunArgs):
    state: str
    strokes: str | None = None
    keep: str | None = None
    steps: int = 50
    code_weight: float = Field(0.1, ge=0)


class RestoreArgs(ImageArgs):
    task: str
    method: str = "optimize"
    steps: int = 200
    mask: str = "centre"
    drawn: str | None = None
    noise: float = 0.3
    factor: int = 4


class TranslateArgs(RunArgs):
    image: str
    to: str = "B"


class DirectionArgs(RunArgs):
    encoder: str | None = None


class ExamplesArgs(RunArgs):
    n: int = Field(12, ge=1, le=48)
    domain: str = "A"


def create_app(studio: Studio, loopback: bool = True, host: str | None = None):
    """The ASGI app over ``studio`` (FastAPI, behind the body limit and, with ``loopback``, a check that
    requests are addressed to this machine, by ``host`` or a loopback name: a page elsewhere cannot reach
    the studio through DNS rebinding)."""
    app = FastAPI(title="gane studio", docs_url=None, redoc_url=None, openapi_url=None)
    static = resources.files("gane.studio") / "static"

    @app.exception_handler(GaneError)
    async def user_error(request: Request, e: GaneError):
        return JSONResponse({"error": str(e)}, status_code=400)

    @app.exception_handler(BodyLimit.TooLarge)  # a body streamed past the limit, found while the route reads it
    async def streamed_too_large(request: Request, e: Exception):
        return too_large(studio.max_bytes)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException):
        return JSONResponse({"error": f"{e.detail} ({request.method} {request.url.path})."}, status_code=e.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, e: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in err.get('loc', ())[1:]) or 'the request'}: {err.get('msg')}" for err in e.errors())
        return JSONResponse({"error": f"The request was not understood ({problems})."}, status_code=400)

    @app.exception_handler(Exception)
    async def fault(request: Request, e: Exception):  # the server prints the traceback once, after this answer
        return JSONResponse({"error": f"The studio hit an internal error ({type(e).__name__}); the server's log has the details."},
                            status_code=500)

    @app.get("/", response_class=HTMLResponse)
    def index():
        return HTMLResponse((static / "index.html").read_text(encoding="utf-8"))

    @app.get("/favicon.ico")
    def favicon():
        return Response(status_code=204)

    @app.get("/static/{name}")
    def static_file(name: str):
        kinds = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
        suffix = name[name.rfind("."):] if "." in name else ""
        target = static / name
        if "/" in name or "\\" in name or suffix not in kinds or not target.is_file():
            return JSONResponse({"error": f"No such file: {name}"}, status_code=404)
        return Response(target.read_bytes(), media_type=kinds[suffix], headers={"Cache-Control": "no-cache"})

    @app.get("/api/runs")
    def runs():
        studio.refresh()
        return {"root": str(studio.root), "runs": studio.runs(), "max_upload_mb": studio.max_bytes / 2**20}

    @app.post("/api/describe")
    def describe(args: RunArgs):
        return studio.describe(args.run)

    @app.post("/api/upload")
    async def upload(request: Request):
        name = unquote(request.headers.get("x-filename") or "") or "the upload"
        kind = request.headers.get("content-type", "")
        body = await request.body()
        if kind and not (kind.startswith("image/") or kind == "application/octet-stream"):
            raise GaneError(f"{name} was sent as {kind}; the studio takes image files (PNG, JPEG, GIF, BMP, WebP, TIFF).")
        return urls(await run_in_threadpool(studio.upload, body, name))  # decoding off the event loop: other requests go on

    @app.post("/api/view")
    def view(args: ImageArgs):
        return urls(studio.view(args.run, args.image))

    @app.post("/api/examples")
    def examples(args: ExamplesArgs):
        return {"images": urls(studio.examples(args.run, args.n, args.domain))}

    @app.post("/api/sample")
    def sample(args: SampleArgs):
        return urls(studio.sample(args.run, args.seed, args.n, args.cls, args.parts, args.psi, args.clusters))

    @app.post("/api/encode")
    def encode(args: ImageArgs):
        return urls(studio.encode(args.run, args.image, args.encoder))

    @app.post("/api/invert")
    def invert(args: InvertArgs):
        return {"job": studio.invert_job(args.run, args.image, args.method, args.steps, args.space, args.encoder).id}

    @app.post("/api/fit-encoder")
    def fit_encoder(args: FitArgs):
        return {"job": studio.fit_encoder_job(args.run, args.method, args.name or None, args.steps).id}

    @app.post("/api/directions")
    def directions(args: DirectionArgs):
        return studio.direction_list(args.run, args.encoder)

    @app.post("/api/edit")
    def edit(args: EditArgs):
        return urls(studio.edit(args.run, args.image, args.alphas, args.encoder))

    @app.post("/api/interpolate")
    def interpolate(args: InterpolateArgs):
        return urls(studio.interpolate(args.run, args.a, args.b, args.t, args.mode, args.encoder))

    @app.post("/api/arithmetic")
    def arithmetic(args: ArithmeticArgs):
        return urls(studio.arithmetic(args.run, args.a, args.b, args.c, args.encoder))

    @app.post("/api/save-direction")
    def save_direction(args: SaveArgs):
        return studio.save_direction(args.run, args.direction, args.name, args.encoder)

    @app.post("/api/paint-start")
    def paint_start(args: PaintStartArgs):
        return {"job": studio.paint_start(args.run, args.image, args.encoder, args.steps).id}

    @app.post("/api/paint")
    def paint(args: PaintArgs):
        return {"job": studio.paint(args.run, args.state, from_url(args.strokes), from_url(args.keep), args.steps,
                                    code_weight=args.code_weight).id}

    @app.post("/api/restore")
    def restore(args: RestoreArgs):
        return {"job": studio.restore(args.run, args.image, args.task, args.method, args.steps, args.mask, from_url(args.drawn),
                                      args.noise, args.factor, args.encoder).id}

    @app.post("/api/translate")
    def translate(args: TranslateArgs):
        return urls(studio.translate(args.run, args.image, args.to))

    @app.get("/api/jobs/{key}")
    def job(key: str):
        return urls(studio.job_state(key))

    # a data URL is base64: 4/3 of the bytes, and the JSON around it
    limited = BodyLimit(SameSite(app), studio.max_bytes * 4 // 3 + 64 * 1024, studio.max_bytes)
    if loopback:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        return TrustedHostMiddleware(limited, allowed_hosts=sorted({*LOOPBACK, *([host] if host else [])}))
    return limited
