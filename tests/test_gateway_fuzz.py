"""The gateway's API fuzzed from its own OpenAPI description (schemathesis 4), in process.

Every operation the description lists gets generated requests: schema-valid ones ("positive"),
and for the operation whose input the description constrains (POST /v1/tasks) schema-violating
ones too ("negative": wrong types, missing fields, bodies that are not JSON or not UTF-8); each
with a dev token (alice, lena or bob) and again without credentials or with made-up ones. Task
bodies also go with an ``Idempotency-Key`` header (read by hand, so not in the description) or
without: a repeated key must name the task its first request created.
Schema-valid task bodies are steered, part of the time, to a device the gateway serves and to a
program built from OpenQASM 3 fragments, so requests get past the device check into the program
analysis, the policy and the store (random strings alone end at ``unknown_device``).

What must hold for every case: no 5xx; a non-2xx answer is JSON ``{"error", "reason"}`` with a
one-line reason and no traceback; status codes, content types, headers and bodies as the
description declares (schemathesis's own checks); a 401 carries ``WWW-Authenticate`` (RFC 9110
§11.6.1: "A server generating a 401 (Unauthorized) response MUST send a WWW-Authenticate header
field"). Deterministic: Hypothesis's ``derandomize`` (a seed derived from the test) and no example
database; the gateway's clock is fixed on a Wednesday morning, so office-hours rules decide the
same way at any hour the suite runs.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.model import ACCEPTED, CANCELLED, COMPLETED, FAILED
from tests.gateway_fixtures import BELL, FORTE, SV1, Gateway, token

POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
# Cases per (operation, mode, credentials); each test checks it ran its share, and the shares add up
# to the 500. GET /healthz takes no input: its one possible request is all there is.
PLAN = {
    ("POST /v1/tasks", POSITIVE, "token"): 220,
    ("POST /v1/tasks", NEGATIVE, "token"): 150,
    ("GET /v1/tasks/{task_id}", POSITIVE, "token"): 80,
    ("POST /v1/tasks/{task_id}/cancel", POSITIVE, "token"): 60,
    ("GET /healthz", POSITIVE, "token"): 1,
    ("POST /v1/tasks", POSITIVE, "none"): 50,
    ("POST /v1/tasks", NEGATIVE, "none"): 50,
    ("GET /v1/tasks/{task_id}", POSITIVE, "none"): 40,
    ("POST /v1/tasks/{task_id}/cancel", POSITIVE, "none"): 20,
    ("GET /healthz", POSITIVE, "none"): 1,
}
WEDNESDAY_MORNING = datetime(2026, 3, 11, 10, 0, tzinfo=ZoneInfo("Europe/London")).timestamp()
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    # A rate limit no fuzzing run reaches: a 429 would stop cases before the code they are aimed at.
    instance = Gateway(tmp_path_factory.mktemp("fuzzed-gateway"), rate_limit=100_000, clock=lambda: WEDNESDAY_MORNING)
    yield instance
    instance.store.close()


@pytest.fixture(scope="module")
def schema(gateway):
    return schemathesis.openapi.from_asgi("/openapi.json", gateway.app)


@pytest.fixture(scope="module")
def known_ids(gateway) -> list[str]:
    """Real task ids for GET /v1/tasks/{id} and its cancel: alice's accepted, completed and failed tasks, and lena's."""
    ids = [gateway.submit("alice").json()["id"] for _ in range(3)] + [gateway.submit("lena").json()["id"]]
    gateway.store.finish(ids[1], COMPLETED, counts={"counts": {"00": 4, "11": 6}, "measured_qubits": [0, 1]})  # as the forwarder stores them
    gateway.store.finish(ids[2], FAILED, error="Braket said no")
    assert [gateway.store.get(i).state for i in ids] == [ACCEPTED, COMPLETED, FAILED, ACCEPTED]
    return ids


def test_the_plan_covers_every_operation_and_500_cases(schema):
    operations = {result.ok().label for result in schema.get_all_operations()}
    assert operations == {label for label, _, _ in PLAN}, "an operation was added or removed: fuzz it in PLAN"
    assert sum(PLAN.values()) >= 500


# -- what is sent -------------------------------------------------------------------------------

IDENTIFIER = st.one_of(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True),
                       st.sampled_from(["q", "c", "measure", "qubit", "pi", "U", "gate", "π", "ψ_1", "input"]))
SIZE = st.integers(min_value=-1, max_value=40)
ANGLE = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.sampled_from(["pi/2", "-τ", "θ", "1e309", "0x1"]))
LINE = st.one_of(
    st.builds("qubit[{}] {};".format, SIZE, IDENTIFIER),
    st.builds("bit[{}] {};".format, SIZE, IDENTIFIER),
    st.builds("h {}[{}];".format, IDENTIFIER, SIZE),
    st.builds("cnot {0}[{1}], {0}[{2}];".format, IDENTIFIER, SIZE, SIZE),
    st.builds("rx({}) {}[{}];".format, ANGLE, IDENTIFIER, SIZE),
    st.builds("{}[{}] = measure {}[{}];".format, IDENTIFIER, SIZE, IDENTIFIER, SIZE),
    st.builds("{} = measure {};".format, IDENTIFIER, IDENTIFIER),
    st.builds("gate {0}(t) a {{ rx(t) a; }} {0}({1}) {2}[0];".format, IDENTIFIER, ANGLE, IDENTIFIER),
    st.builds("def {}(qubit a) {{ h a; }}".format, IDENTIFIER),
    st.builds("for int i in [0:{}] {{ h {}[i]; }}".format, SIZE, IDENTIFIER),
    st.builds("if ({}[{}]) x {}[0];".format, IDENTIFIER, SIZE, IDENTIFIER),
    st.builds("input float {};".format, IDENTIFIER),
    st.builds("// {}".format, st.text(max_size=20)),
    st.builds("#pragma braket {}".format, st.text(max_size=20)),
    st.builds("@{} {}".format, IDENTIFIER, st.text(max_size=20)),
    st.text(max_size=30),
)
FRAGMENTS = st.lists(LINE, min_size=2, max_size=12).map(lambda lines: "OPENQASM 3.0;\n" + "\n".join(lines) + "\n")


def _spliced(text: str, at: int) -> str:
    """The Bell program with ``text`` inserted before one of its lines."""
    lines = BELL.splitlines(keepends=True)
    at %= len(lines) + 1
    return "".join(lines[:at]) + text + "\n" + "".join(lines[at:])


def _steered(case, device, program, only_declared_fields):
    """A schema-valid task body, sent on to a served device and an OpenQASM-like program (or not),
    without the extra fields the description allows and the gateway refuses (or with them)."""
    if isinstance(case.body, dict):
        if only_declared_fields:
            case.body = {name: value for name, value in case.body.items() if name in ("device", "shots", "program")}
        if device is not None:
            case.body["device"] = device
        if program is not None:
            case.body["program"] = program
    return case


def cases(schema, label: str, mode: GenerationMode, known_ids: list[str]):
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    generated = operation.as_strategy(generation_mode=mode)
    if label == "POST /v1/tasks" and mode == POSITIVE:
        # Hypothesis leans to the first choice: the served device and a program first, the generated ones last.
        devices = st.sampled_from([SV1, FORTE, SV1, None])
        programs = st.one_of(FRAGMENTS, st.builds(_spliced, st.text(max_size=40), st.integers(0, 10)), st.just(BELL), st.none())
        return st.builds(_steered, generated, devices, programs, st.booleans())
    if label in ("GET /v1/tasks/{task_id}", "POST /v1/tasks/{task_id}/cancel"):
        return st.one_of(generated, st.sampled_from(known_ids).flatmap(
            lambda task_id: operation.as_strategy(path_parameters={"task_id": task_id})))
    return generated


TOKENS = st.sampled_from(["alice", "alice", "lena", "bob"]).map(lambda subject: f"Bearer {token(subject)}")
NOT_CREDENTIALS = st.one_of(
    st.none(),
    st.just("Bearer token-of-mallory"),
    st.from_regex(r"Bearer [A-Za-z0-9_-]{1,20}\.[A-Za-z0-9_-]{1,20}\.[A-Za-z0-9_-]{0,20}", fullmatch=True),  # JWT-shaped
    st.from_regex(r"[!-~][ -~]{0,60}", fullmatch=True),  # any visible ASCII: Basic, a bare token, junk
)

# The Idempotency-Key header is read by hand, outside the description: sent here with task bodies, a few
# keys over and over (a replay, or a key reused for another task), others valid once, others not valid.
IDEMPOTENCY_KEYS = st.one_of(
    st.none(),
    st.none(),
    st.sampled_from(["fuzz-1", "fuzz-2", "fuzz-3"]),
    st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True),
    st.from_regex(r"[!-~][ -~]{0,140}", fullmatch=True),
)


@pytest.fixture(scope="module")
def tasks_by_key() -> dict:
    """(Authorization, Idempotency-Key) -> the task id its first 202 named, across every test of the module."""
    return {}


# -- what must hold -----------------------------------------------------------------------------

def check_answer(case, response, *, authenticated: bool) -> None:
    case.validate_response(response, checks=CHECKS)
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text and 'File "' not in response.text, response.text
    if not authenticated and case.operation.path != "/healthz":
        assert response.status_code == 401, response.text  # credentials are checked before anything else
    if response.status_code == 401:
        assert response.headers.get("www-authenticate"), response.headers
    if 200 <= response.status_code < 300:
        return
    body = response.json()
    assert isinstance(body, dict), response.text
    assert isinstance(body.get("error"), str) and body["error"], response.text
    assert isinstance(body.get("reason"), str) and one_line(body["reason"]), response.text


def one_line(text: str) -> bool:
    """Non-empty and without a line boundary: no LF or CR, nor VT, FF, the ASCII separators, NEL or
    U+2028/2029 (what ``str.splitlines`` splits on), which a log line or a terminal would break at."""
    return text.splitlines() == [text]


@pytest.mark.parametrize("label, mode, credentials", list(PLAN), ids=[f"{l} {m.value} {c}" for l, m, c in PLAN])
def test_no_generated_request_gets_a_5xx_or_an_answer_without_a_reason(gateway, schema, known_ids, tasks_by_key,
                                                                        label, mode, credentials):
    authenticated = credentials == "token"
    statuses: Counter = Counter()

    @settings(max_examples=PLAN[label, mode, credentials], derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(case=cases(schema, label, mode, known_ids), authorization=TOKENS if authenticated else NOT_CREDENTIALS,
           key=IDEMPOTENCY_KEYS if label == "POST /v1/tasks" else st.none())
    def run(case, authorization, key):
        headers = {name: value for name, value in (("Authorization", authorization), ("Idempotency-Key", key)) if value is not None}
        response = case.call(headers=headers)
        try:
            check_answer(case, response, authenticated=authenticated)
            if label == "POST /v1/tasks/{task_id}/cancel" and response.status_code == 200:
                assert gateway.store.get(response.json()["id"]).state == CANCELLED, response.text
            if label == "POST /v1/tasks" and response.status_code == 202:  # durable before the answer: the store has it
                task_id = response.json()["id"]
                assert gateway.store.get(task_id).state == ACCEPTED
                if key is not None:  # a repeated key names the task its first request created
                    assert tasks_by_key.setdefault((authorization, key), task_id) == task_id, response.text
        except AssertionError as failed:  # the request, to reproduce it by hand (the token is filtered)
            raise AssertionError(f"{failed}\nAuthorization: {authorization!r}\n{case.as_curl_command(headers)}") from None
        statuses[response.status_code] += 1

    run()
    assert sum(statuses.values()) >= PLAN[label, mode, credentials], statuses
    if label == "POST /v1/tasks" and mode == POSITIVE and authenticated:
        # The steering worked: cases got past the device check, some all the way to acceptance.
        assert statuses[202] and statuses[403], statuses
    if label == "GET /v1/tasks/{task_id}" and authenticated:
        assert statuses[200] and statuses[404], statuses
    if label == "POST /v1/tasks/{task_id}/cancel" and authenticated:  # alice's accepted task; her finished ones
        assert statuses[200] and statuses[404] and statuses[409], statuses


@pytest.mark.parametrize("body", [
    {"device": SV1, "shots": 1, "program": BELL, "note\nline two": 1},  # an unknown field
    {"device": f"{SV1}\nline two", "shots": 1, "program": BELL},
    {"device": SV1, "shots": 1, "program": "OPENQASM 3.0;\nqubit q;\nh\u2028q;"},
    {"device": SV1, "shots": 1, "program": 'OPENQASM 3.0;\ninclude "a\nb";'},
], ids=["unknown-field", "device", "program-u2028", "program-string"])
def test_a_reason_quoting_the_request_stays_on_one_line(gateway, body):
    answer = gateway.client.post("/v1/tasks", json=body, headers={"Authorization": f"Bearer {token('alice')}"})
    assert 400 <= answer.status_code < 500 and one_line(answer.json()["reason"]), answer.json()


def test_the_completed_task_the_get_cases_read_comes_back_in_the_users_names(gateway, known_ids):
    """The COMPLETED task the GET cases read: its counts come back in the user's register names."""
    answer = gateway.status(known_ids[1])
    assert answer.status_code == 200 and answer.json()["state"] == COMPLETED
    assert json.dumps(answer.json()["counts"]).count("alice_bits") >= 1
