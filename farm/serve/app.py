"""The REST API (FastAPI): health, the served models, inference, and the demo page.

Models are loaded once, when the app is created; a request names a model by its id (1, 2,
... in the order given) or its name (the folder's name) and can make the server read
nothing else: the demo page's files are a fixed list inside the package, the API docs'
files (Swagger UI, ReDoc) a fixed list of the fastapi-offline package's, read at start-up.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from farm import __version__
from farm.errors import FarmError
from farm.infer import Inferencer
from farm.modeling.adaptive_model import MODEL_META
from farm.modeling.prediction_heads import QuestionAnsweringHead
from farm.serve import DEFAULT_THREADS
from farm.serve.guards import DEMO_PAGE_CSP, HostCheck, SecurityHeaders, allowed_host_names
from farm.serve.limits import BodyLimits, ServerLimits
from farm.serve.passages import count_passages
from farm.serve.pool import ClientGone, ModelWorkers, QueueFull, TimedOut
from farm.serve.tasks import NOT_SERVABLE, InputForm, check_inputs, example, form_for, shown

logger = logging.getLogger(__name__)

STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css"}
# Folder names that say nothing about the model in them: the model is named after the
# folder above (``saved_models/sentiment/best_model`` → ``sentiment``).
GENERIC_NAMES = {"best_model", "best", "model", "final_model", "final", "latest", "output",
                 "outputs", "save_dir", "saved_model", "checkpoint"}
# Swagger UI's and ReDoc's files, from the fastapi-offline package (the serve extra), so that
# /docs and /redoc work without network; without the package they come from a CDN.
DOCS_ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
               "redoc.standalone.js": "text/javascript", "favicon.png": "image/png"}


class InferenceRequest(BaseModel):
    """The body of ``POST /models/{model_id}/inference``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"input": [{"text": "A warm, clever film."}]}]})
    input: list[Any] = Field(description="One dict per input; its fields depend on the model "
                             "(GET /models shows them: e.g. {\"text\": ...}).")


class HeadResult(BaseModel):
    """All predictions of one head (FARM's result format, every input in one list)."""

    task: str
    task_name: str
    predictions: list[Any]


class TaskInfo(BaseModel):
    task_name: str
    task: str
    labels: list[str] | None
    pred_threshold: float | None = None


class ModelInfo(BaseModel):
    id: int
    name: str
    task: str
    tasks: list[TaskInfo]
    labels: list[str] | None
    language: str | None
    backend: str
    form: dict[str, Any]
    max_seq_len: int


class ApiError(Exception):
    """An answer with ``status`` and ``{"detail": message, "errors": [...]}``.

    Args:
        status (int): HTTP status.
        message (str): The ``detail``.
        errors (list[dict[str, str]] | None): Every problem, ``{"loc", "msg"}``.
        headers (dict[str, str] | None): Extra response headers.
    """

    def __init__(self, status: int, message: str, errors: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors or []
        self.headers = headers


def error_body(detail: str, errors: list[dict[str, str]], max_errors: int) -> dict[str, Any]:
    """An error answer's body listing at most ``max_errors`` problems; ``errors_omitted``
    counts the others (present only when some are)."""
    body: dict[str, Any] = {"detail": detail, "errors": errors[:max_errors]}
    if len(errors) > max_errors:
        body["errors_omitted"] = len(errors) - max_errors
    return body


@dataclass
class ServedModel:
    """A model the server answers for."""

    id: int
    name: str
    inferencer: Inferencer
    form: InputForm
    workers: ModelWorkers
    _per_thread: threading.local = field(default_factory=threading.local)

    def worker_inferencer(self) -> Inferencer:
        """The inferencer for the calling worker thread. With several workers each has its
        own copy of the processor, as a tokenizer's truncation setting is state that two
        threads would change under each other; the model is shared."""
        if self.workers.workers == 1:
            return self.inferencer
        inferencer: Inferencer | None = getattr(self._per_thread, "inferencer", None)
        if inferencer is None:
            inferencer = copy.copy(self.inferencer)
            inferencer.processor = copy.deepcopy(self.inferencer.processor)
            self._per_thread.inferencer = inferencer
        return inferencer

    def describe(self) -> ModelInfo:
        heads = self.inferencer.model.heads
        tasks = [TaskInfo(task_name=h.task_name, task=h.task_type, labels=h.label_list,
                          pred_threshold=getattr(h, "pred_threshold", None)) for h in heads]
        language_model = self.inferencer.model.language_model
        return ModelInfo(
            id=self.id, name=self.name, task=tasks[0].task if len(tasks) == 1 else "multitask",
            tasks=tasks, labels=tasks[0].labels, language=language_model.language,
            backend=getattr(self.inferencer.model, "backend", "pytorch"),
            form=self.form.describe(), max_seq_len=self.inferencer.processor.max_seq_len,
        )


def load_models(model_dirs: Sequence[str | Path | Inferencer], batch_size: int = 32,
                task_type: str | None = None, max_seq_len: int = 256, doc_stride: int = 128,
                extraction_strategy: str | None = None, workers: int = 1, max_queue: int = 16,
                threads: int | None = None, snap_answers: bool = True) -> list[ServedModel]:
    """Load each model folder (FARM or ONNX export; a Hugging Face folder with
    ``task_type``) once, with ``Inferencer.load``'s ``max_seq_len`` and ``doc_stride``;
    ids count from 1. QA heads give answers of whole words with ``snap_answers``.

    ``task_type`` applies to Hugging Face folders; ``"embeddings"`` (as in ``farm predict``)
    to every folder: each is served as its language model's vectors, with
    ``extraction_strategy``.
    """
    served: list[ServedModel] = []
    for position, item in enumerate(model_dirs, start=1):
        if isinstance(item, Inferencer):
            inferencer = item
            name = item.name or f"model-{position}"
        else:
            farm_folder = (Path(item) / MODEL_META).is_file()
            vectors = task_type == "embeddings" or extraction_strategy is not None
            inferencer = Inferencer.load(
                item, batch_size=batch_size, return_class_probs=True, disable_tqdm=True,
                max_seq_len=max_seq_len, doc_stride=doc_stride,
                extraction_strategy=extraction_strategy,
                task_type=None if farm_folder and not vectors else task_type)
            name = model_name(Path(item))
        check_lengths = getattr(inferencer.processor, "check_lengths", None)
        if check_lengths is not None:  # QA: max_seq_len, max_query_length and doc_stride fit
            try:
                check_lengths()
            except ValueError as error:
                raise FarmError(f"Model {position} ({item}) cannot be served with these "
                                f"lengths (--max-seq-len, --doc-stride): {error}") from error
        for head in inferencer.model.heads:
            if head.task_type in NOT_SERVABLE:
                raise FarmError(f"Model {position} ({item}) cannot be served: "
                                f"{NOT_SERVABLE[head.task_type]}")
            if isinstance(head, QuestionAnsweringHead):
                head.snap_to_words = snap_answers
        taken = {m.name for m in served}
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name}-{n}", n + 1
        form = form_for(inferencer.processor, [h.task_type for h in inferencer.model.heads])
        pool = ModelWorkers(unique, workers, max_queue, threads)
        served.append(ServedModel(position, unique, inferencer, form, pool))
        logger.info("Serving model %d '%s' (%s)", position, unique, form.name)
    return served


def model_name(folder: Path) -> str:
    """The name a model folder is served under: ``"name"`` in its ``farm_model.json`` if
    it has one, else the folder's name, or the name of the folder above for a folder
    named like ``best_model`` (see ``GENERIC_NAMES``)."""
    folder = folder.resolve()
    try:
        meta = json.loads((folder / MODEL_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = None
    name = meta.get("name") if isinstance(meta, dict) else None
    if isinstance(name, str) and name.strip():
        return name.strip()[:100]
    if folder.name.lower() in GENERIC_NAMES and folder.parent.name:
        return folder.parent.name
    return folder.name


def merge_batches(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One result dict per head with every input's prediction, from the inferencer's one
    dict per batch and head."""
    merged: dict[str, dict[str, Any]] = {}
    for result in results:
        entry = merged.setdefault(result["task_name"], {
            "task": result["task"], "task_name": result["task_name"], "predictions": []})
        entry["predictions"].extend(result["predictions"])
    return list(merged.values())


def offline_docs_assets() -> dict[str, bytes] | None:
    """The files of ``DOCS_ASSETS`` from the installed fastapi-offline package, or None if it
    is not installed (or lacks one of them)."""
    try:
        folder = resources.files("fastapi_offline").joinpath("static")
    except ModuleNotFoundError:
        return None
    files = {name: folder.joinpath(name) for name in DOCS_ASSETS}
    if not all(f.is_file() for f in files.values()):
        logger.warning("fastapi-offline lacks %s; /docs loads Swagger UI from a CDN.",
                       [n for n, f in files.items() if not f.is_file()])
        return None
    return {name: f.read_bytes() for name, f in files.items()}


def _add_offline_docs(app: FastAPI, assets: dict[str, bytes]) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` on the package's own copies of their files."""
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=title,
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=app.openapi_url or "/openapi.json", title=title,
                              redoc_js_url="/docs-assets/redoc.standalone.js",
                              redoc_favicon_url="/docs-assets/favicon.png",
                              with_google_fonts=False)

    @app.get("/docs-assets/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        if name not in assets:
            raise ApiError(404, f"No file '{shown(name)}'.")
        return Response(assets[name], media_type=DOCS_ASSETS[name],
                        headers={"Cache-Control": "max-age=86400"})


def create_app(models: Sequence[str | Path | Inferencer], limits: ServerLimits | None = None,
               batch_size: int = 32, task_type: str | None = None, max_seq_len: int = 256,
               doc_stride: int = 128, extraction_strategy: str | None = None,
               workers: int = 1, threads: int | None = DEFAULT_THREADS,
               allowed_hosts: Sequence[str] | None = None, snap_answers: bool = True
               ) -> FastAPI:
    """The FastAPI app serving ``models`` (folders or ready inferencers).

    Args:
        models (Sequence[str | Path | Inferencer]): FARM model folders, ONNX exports, or
            inferencers; loaded here, once.
        limits (ServerLimits | None): Request limits, queue length and time limits
            (default :class:`ServerLimits`).
        batch_size (int): Inference batch size.
        task_type (str | None): For Hugging Face folders among ``models`` (see
            ``Inferencer.load``); FARM models and ONNX exports know their task.
            ``"embeddings"`` serves every folder's language-model vectors.
        max_seq_len (int): Tokens per sample (``Inferencer.load``; capped at what each model
            supports).
        doc_stride (int): QA: tokens from one passage of a long text to the next.
        extraction_strategy (str | None): Embeddings: how a text's vector is made
            (``Inferencer.load``).
        workers (int): Requests per model that run at the same time, each on its own thread.
        threads (int | None): torch intra-op threads per worker (``None``: torch's default,
            every core for each worker).
        allowed_hosts (Sequence[str] | None): Host names the server answers to besides
            ``localhost``, ``127.0.0.1`` and ``::1`` (``["*"]``: any); requests naming
            another host in their ``Host`` header are refused (400).
        snap_answers (bool): QA answers widened to whole words (the QA head's
            ``snap_to_words``, set on every served QA head); off: the spans as found.

    Example:
        >>> app = create_app(["saved_models/sentiment"])
        >>> # uvicorn.run(app, host="127.0.0.1", port=8000)
    """
    if not models:
        raise FarmError("Give at least one model folder to serve.")
    limits = limits or ServerLimits()
    served = load_models(models, batch_size=batch_size, task_type=task_type,
                         max_seq_len=max_seq_len, doc_stride=doc_stride,
                         extraction_strategy=extraction_strategy, workers=workers,
                         max_queue=limits.max_queue, threads=threads,
                         snap_answers=snap_answers)
    by_key = {str(m.id): m for m in served} | {m.name: m for m in served}
    static = {name: resources.files("farm.serve").joinpath("static", name).read_bytes()
              for name in [*STATIC_FILES, "index.html"]}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        for model in served:
            model.workers.shutdown()

    docs_assets = offline_docs_assets()
    cdn_docs = "/docs" if docs_assets is None else None
    app = FastAPI(title="FARM", version=__version__, docs_url=cdn_docs,
                  redoc_url=cdn_docs and "/redoc", lifespan=lifespan, description=(
        "Predictions of FARM models. `GET /models` lists the models and the fields of their "
        "input dicts; `POST /models/{model_id}/inference` with `{\"input\": [...]}` returns "
        "one result per head holding every input's prediction. The demo page is at `/`."))
    if docs_assets is not None:
        _add_offline_docs(app, docs_assets)
    # The last added runs first: the security headers go on every answer, the host check's
    # too, and a request for another host is refused before its body is read.
    app.add_middleware(BodyLimits, max_bytes=limits.max_body_bytes, timeout=limits.body_timeout)
    app.add_middleware(HostCheck, allowed=allowed_host_names(allowed_hosts))
    app.add_middleware(SecurityHeaders)
    app.state.models = served
    app.state.limits = limits

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(error_body(error.message, error.errors, limits.max_errors),
                            status_code=error.status, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{"loc": ".".join(shown(str(p)) for p in e["loc"]), "msg": e["msg"]}
                  for e in error.errors()]
        bad_json = any(e["type"] == "json_invalid" for e in error.errors())
        listed = errors[:5]
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        detail = ("The body is not valid JSON." if bad_json else
                  'The body must be {"input": [ {...}, ... ]}: ' +
                  "; ".join(f"{e['loc']}: {e['msg']}" for e in listed) + more)
        return JSONResponse(error_body(detail, errors, limits.max_errors),
                            status_code=400 if bad_json else 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": error.detail, "errors": []},
                            status_code=error.status_code, headers=error.headers)

    def lookup(model_id: str) -> ServedModel:
        if model_id not in by_key:
            known = [f"{m.id} ({m.name})" for m in served]
            raise ApiError(404, f"No model '{shown(model_id)}'; this server has {known}.")
        return by_key[model_id]

    # The endpoints below are coroutines, answered on the event loop: none of them waits
    # for a thread, so none waits behind a busy model. Inference runs on the model's workers.
    @app.get("/health", summary="Liveness and the number of models")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "models": len(served), "farm_version": __version__}

    @app.get("/models", response_model=list[ModelInfo], summary="The served models")
    async def list_models() -> list[ModelInfo]:
        return [m.describe() for m in served]

    @app.get("/models/{model_id}", response_model=ModelInfo, summary="One served model")
    async def get_model(model_id: str) -> ModelInfo:
        return lookup(model_id).describe()

    @app.post("/models/{model_id}/inference", response_model=list[HeadResult],
              summary="Predictions for a list of input dicts",
              responses={404: {"description": "Unknown model"},
                         408: {"description": "The body did not arrive in time"},
                         413: {"description": "Body too large"},
                         422: {"description": "Invalid input (every problem is listed)"},
                         503: {"description": "The model's queue is full (see Retry-After)"},
                         504: {"description": "The request's time limit passed"}})
    async def inference(model_id: str, body: InferenceRequest, request: Request) -> Response:
        model = lookup(model_id)
        problems = check_inputs(body.input, model.form, limits.max_inputs, limits.max_text_chars)
        if problems:
            summary = "; ".join(f"{p['loc']}: {p['msg']}" for p in problems[:5])
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise ApiError(422, f"Invalid input for model '{model.name}' (inputs like "
                           f"{example(model.form)}): {summary}{more}", problems)

        def work() -> bytes:
            """Inference and the answer's JSON, on a worker: a large answer (vectors) is
            encoded there, not on the event loop."""
            inferencer = model.worker_inferencer()
            if model.form.name == "qa":
                n_passages = count_passages(inferencer.processor, body.input)
                if n_passages > limits.max_passages:
                    raise ApiError(422, f"This request asks for {n_passages} passages (each "
                                   "question is read with its text, a long text in several "
                                   f"passages); this server reads at most "
                                   f"{limits.max_passages} per request (--max-passages). Ask "
                                   "fewer questions per request, or send shorter texts.")
            results = merge_batches(inferencer.inference_from_dicts(body.input))
            try:
                return json.dumps(results, ensure_ascii=False, allow_nan=False,
                                  separators=(",", ":")).encode()
            except ValueError as error:
                raise ApiError(500, f"Model '{model.name}' gave a prediction that is not a "
                               "number (NaN or infinity); its weights may be broken.") from error

        async def client_gone() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass

        try:
            answer = await model.workers.run(work, limits.timeout, client_gone)
        except FarmError as error:
            raise ApiError(422, str(error)) from error
        except QueueFull as busy:
            raise ApiError(503, f"Model '{model.name}' is busy: {model.workers.workers} "
                           f"request(s) running and {limits.max_queue} waiting (--workers, "
                           f"--max-queue). Retry after {busy.retry_after} s.",
                           headers={"Retry-After": str(busy.retry_after)}) from None
        except TimedOut as late:
            raise ApiError(504, f"Model '{model.name}' did not answer within "
                           f"{limits.timeout:g} s (--timeout); the request was "
                           + ("stopped (its inference ends at its next model batch)."
                              if late.started else "dropped from the queue.")
                           + " Send fewer or shorter inputs per request.") from None
        except ClientGone:
            raise ApiError(499, "The client closed the connection.") from None
        return Response(answer, media_type="application/json")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def demo_page() -> HTMLResponse:
        return HTMLResponse(static["index.html"], headers={
            "Content-Security-Policy": DEMO_PAGE_CSP, "Referrer-Policy": "no-referrer"})

    @app.get("/static/{name}", include_in_schema=False)
    async def static_file(name: str) -> Response:
        if name not in STATIC_FILES:
            raise ApiError(404, f"No file '{shown(name)}'.")
        return Response(static[name], media_type=STATIC_FILES[name])

    return app
