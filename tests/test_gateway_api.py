"""The gateway end to end, in process: its API (FastAPI's TestClient), its durable store, its audit
trail and its forwarder sending to the Braket test service and moto's S3 on loopback."""

from __future__ import annotations

import json
import time

import pytest

from gateway.audit import verify
from gateway.forwarder import Forwarder
from gateway.model import ACCEPTED, CANCELLED, COMPLETED, FAILED, FORWARDED
from tests.gateway_fixtures import BELL, SV1, Gateway, token


@pytest.fixture
def gateway(tmp_path):
    instance = Gateway(tmp_path)
    yield instance
    instance.store.close()


def forward_until_done(gateway: Gateway, forwarder: Forwarder, ids, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        while forwarder.run_once() is not None:
            pass
        forwarder.poll_once()
        if all(gateway.store.get(i).state == COMPLETED for i in ids):
            return
        time.sleep(0.05)
    raise AssertionError({i: gateway.store.get(i).state for i in ids})


def test_a_bell_circuit_goes_through_anonymized_and_comes_back_in_the_users_names(gateway, aws):
    accepted = gateway.submit()
    assert accepted.status_code == 202, accepted.text
    task_id = accepted.json()["id"]
    assert accepted.json()["state"] == ACCEPTED and gateway.store.get(task_id).state == ACCEPTED
    forwarder = gateway.forwarder()
    assert forwarder.run_once().id == task_id
    assert gateway.store.get(task_id).state == FORWARDED
    forward_until_done(gateway, forwarder, [task_id])

    answer = gateway.status(task_id).json()
    assert answer["state"] == COMPLETED
    assert json.dumps(answer["counts"]).count("alice_bits") >= 1  # the user's register name is back
    # What left the gateway: no user identifier, no comment, one opaque tag, the gateway's own bucket.
    [task] = aws.emulator.tasks()
    assert task["clientToken"] == task_id and task["arn"] == gateway.store.get(task_id).task_arn
    assert task["tags"] == {"correlation": gateway.store.get(task_id).correlation_id}
    assert task["source"] == gateway.store.get(task_id).forwarded_program
    for secret in ("alice", "secret experiment"):
        assert secret not in json.dumps(task)
    assert verify(gateway.config.audit_log, head=gateway.store.audit_head()[1]) == []
    events = [json.loads(line)["event"] for line in gateway.config.audit_log.read_text().splitlines()]
    assert events == ["decision", "forwarded", "finished"]


def test_accepted_tasks_survive_a_restart_and_are_forwarded_once(gateway, aws):
    ids = [gateway.submit().json()["id"] for _ in range(5)]
    gateway.restart()  # nothing was forwarded before the restart
    forwarder = gateway.forwarder("after-restart")
    forward_until_done(gateway, forwarder, ids)
    assert sorted(t["clientToken"] for t in aws.emulator.tasks()) == sorted(ids)  # each once


def test_a_forwarder_that_died_after_sending_is_replaced_without_a_second_task(gateway, aws):
    task_id = gateway.submit().json()["id"]
    now = [time.time()]
    dying = gateway.forwarder("dies", clock=lambda: now[0], lease_seconds=30)
    store = gateway.store
    real_mark = store.mark_forwarded
    store.mark_forwarded = lambda *a, **k: (_ for _ in ()).throw(SystemExit("killed after sending"))
    with pytest.raises(SystemExit):
        dying.run_once()  # sent to Braket, then died before recording the task
    store.mark_forwarded = real_mark
    assert store.get(task_id).state == "FORWARDING"
    now[0] += 31  # the lease ran out
    replacement = gateway.forwarder("replacement", clock=lambda: now[0])
    assert replacement.run_once().id == task_id
    forward_until_done(gateway, replacement, [task_id])
    # One task at Braket: the resend carried the same client token, and Braket answered with the first task.
    assert [t["arn"] for t in aws.emulator.tasks()] == [store.get(task_id).task_arn]


@pytest.mark.parametrize(
    "make, status, code",
    [
        (lambda c: c.post("/v1/tasks", content=b"\xff\xfe{", headers=AUTH), 400, "not_utf8"),
        (lambda c: c.post("/v1/tasks", content=b'{"device": ', headers=AUTH), 400, "malformed_json"),
        (lambda c: c.post("/v1/tasks", content=b"[]", headers=AUTH), 422, "invalid_request"),
        (lambda c: c.post("/v1/tasks", content=b"x" * 300_000, headers=AUTH), 413, "body_too_large"),
        (lambda c: c.post("/v1/tasks", json={"device": SV1, "shots": 0, "program": BELL}, headers=AUTH), 422, "invalid_request"),
        (lambda c: c.post("/v1/tasks", json={"device": SV1, "shots": "many", "program": BELL}, headers=AUTH), 422, "invalid_request"),
        (lambda c: c.post("/v1/tasks", json={"device": SV1, "shots": 10, "program": BELL, "tags": {"user": "alice"}}, headers=AUTH), 422, "invalid_request"),
        (lambda c: c.post("/v1/tasks", json={"device": SV1, "shots": 200_000, "program": BELL}, headers=AUTH), 400, "too_many_shots"),
        (lambda c: c.post("/v1/tasks", json={"device": SV1.replace("sv1", "tn1"), "shots": 10, "program": BELL}, headers=AUTH), 400, "unknown_device"),
        (lambda c: c.post("/v1/tasks", json={"device": SV1, "shots": 10, "program": "OPENQASM 3.0; qubit q; bogus q;"}, headers=AUTH), 400, "invalid_program"),
        (lambda c: c.post("/v1/tasks", json={"device": SV1, "shots": 10, "program": BELL}), 401, "unauthenticated"),
        (lambda c: c.post("/v1/tasks", json={"device": SV1, "shots": 10, "program": BELL}, headers={"Authorization": "Bearer nope"}), 401, "unauthenticated"),
        (lambda c: c.get("/v1/tasks/" + "x" * 500, headers=AUTH), 404, "not_found"),
    ],
)
def test_bad_input_gets_one_clear_reason_and_never_a_500(gateway, make, status, code):
    answer = make(gateway.client)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"] == code and isinstance(body["reason"], str) and "\n" not in body["reason"]
    assert "Traceback" not in answer.text
    assert gateway.store.claim("probe", time.time(), 1) is None  # nothing was accepted


AUTH = {"Authorization": f"Bearer {token('alice')}"}


def test_policy_refusals_name_the_rule_and_quotas_hold_across_a_restart(gateway):
    no_group = gateway.submit("bob")
    assert no_group.status_code == 403 and no_group.json()["rules"] == ["default-deny"]
    too_many = gateway.submit(shots=10_001)
    assert too_many.status_code == 403 and too_many.json()["rules"] == ["shots-ceiling"]
    assert too_many.json()["reasons"] and too_many.json()["error"] == "forbidden"
    from datetime import datetime

    day = datetime.fromtimestamp(time.time(), gateway.config.zone).date().isoformat()
    gateway.store.add_spend("alice", day, 99.999)
    gateway.restart()
    over = gateway.submit()
    assert over.status_code == 403 and over.json()["rules"] == ["daily-cost-quota"], over.text
    assert gateway.submit("lena").status_code == 202  # another subject's quota is untouched
    decisions = [json.loads(line) for line in gateway.config.audit_log.read_text().splitlines()]
    assert [d["decision"] for d in decisions] == ["deny", "deny", "deny", "allow"]
    assert decisions[2]["rules"] == ["daily-cost-quota"] and decisions[2]["subject"] == "alice"


def test_rate_limit_answers_429_with_retry_after(tmp_path):
    gateway = Gateway(tmp_path, rate_limit=2)
    try:
        assert [gateway.submit().status_code for _ in range(2)] == [202, 202]
        limited = gateway.submit()
        assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        gateway.restart()
        assert gateway.submit().status_code == 429  # counted in the database, not in memory
    finally:
        gateway.store.close()


def test_a_task_is_visible_to_its_owner_only(gateway):
    task_id = gateway.submit().json()["id"]
    assert gateway.status(task_id).status_code == 200
    assert gateway.status(task_id, "lena").status_code == 404


def test_the_openapi_description_declares_the_task_body(gateway):
    spec = gateway.client.get("/openapi.json").json()
    body = spec["paths"]["/v1/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"device", "shots", "program"}
    assert body["additionalProperties"] is False  # what the fuzzer learns: extra fields are refused
    post = spec["paths"]["/v1/tasks"]["post"]
    assert {"401", "403", "413", "429"} <= set(post["responses"])
    [key] = [p for p in post["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["in"] == "header" and key["schema"]["maxLength"] == 128


def test_a_repeated_idempotency_key_names_the_first_task(gateway):
    """IETF draft-ietf-httpapi-idempotency-key-header: a client whose answer was lost sends again."""
    headers = {"Authorization": f"Bearer {token('alice')}", "Idempotency-Key": "job-1:0007"}
    body = {"device": SV1, "shots": 100, "program": BELL}
    first = gateway.client.post("/v1/tasks", json=body, headers=headers)
    again = gateway.client.post("/v1/tasks", json=body, headers=headers)
    assert first.status_code == again.status_code == 202 and first.json()["id"] == again.json()["id"]
    decisions = [json.loads(line) for line in gateway.config.audit_log.read_text().splitlines()]
    assert [d["decision"] for d in decisions] == ["allow"]  # one decision, one spend, one task
    other = gateway.client.post("/v1/tasks", json={**body, "shots": 101}, headers=headers)
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"
    # The key is the subject's: the same key from someone else is another task.
    lena = gateway.client.post("/v1/tasks", json=body, headers={**headers, "Authorization": f"Bearer {token('lena')}"})
    assert lena.status_code == 202 and lena.json()["id"] != first.json()["id"]
    bad = gateway.client.post("/v1/tasks", json=body, headers={**headers, "Idempotency-Key": "no spaces please"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_idempotency_key"


def test_the_same_key_sent_twice_at_once_makes_one_task(gateway):
    from concurrent.futures import ThreadPoolExecutor

    headers = {"Authorization": f"Bearer {token('alice')}", "Idempotency-Key": "race-1"}
    body = {"device": SV1, "shots": 100, "program": BELL}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: gateway.client.post("/v1/tasks", json=body, headers=headers), range(8)))
    assert {a.status_code for a in answers} == {202} and len({a.json()["id"] for a in answers}) == 1
    assert gateway.store.claim("probe", time.time(), 1).id == answers[0].json()["id"]
    assert gateway.store.claim("probe", time.time(), 1) is None


def test_concurrent_submissions_cannot_each_pass_a_quota_only_one_fits_under(tmp_path):
    """Room left today for exactly one more task; eight of alice's requests arrive at once, over real
    HTTP: one is accepted, seven are refused by the daily quota, and the spend ends within it."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import datetime

    import httpx

    from gateway.app import _estimate
    from tests.test_gateway_auth import serving

    gateway = Gateway(tmp_path)
    cost = _estimate(SV1, 100)
    day = datetime.fromtimestamp(time.time(), gateway.config.zone).date().isoformat()
    before = gateway.store.add_spend("alice", day, 100 - 1.5 * cost)
    with serving(gateway.app) as port, httpx.Client(timeout=30) as client:
        def submit(n: int) -> httpx.Response:
            return client.post(f"http://127.0.0.1:{port}/v1/tasks", json={"device": SV1, "shots": 100, "program": BELL},
                               headers={"Authorization": f"Bearer {token('alice')}", "Idempotency-Key": f"k{n}"})

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(submit, range(8)))
    assert sorted(a.status_code for a in answers) == [202] + [403] * 7, [a.text for a in answers]
    assert {tuple(a.json()["rules"]) for a in answers if a.status_code == 403} == {("daily-cost-quota",)}
    # The refused requests' reserved estimates were given back: exactly one more task is counted.
    assert gateway.store.spend_today("alice", day) == pytest.approx(before + cost, abs=1e-9)
    gateway.store.close()


# -- cancelling -------------------------------------------------------------------------------------
def cancel(gateway: Gateway, task_id: str, subject: str = "alice"):
    return gateway.client.post(f"/v1/tasks/{task_id}/cancel", headers={"Authorization": f"Bearer {token(subject)}"})


def audit_events(gateway: Gateway) -> list[dict]:
    return [json.loads(line) for line in gateway.config.audit_log.read_text().splitlines()]


def test_a_task_cancelled_before_it_is_forwarded_never_leaves_and_gives_its_estimate_back(gateway, aws):
    from datetime import datetime

    day = datetime.fromtimestamp(time.time(), gateway.config.zone).date().isoformat()
    task_id = gateway.submit().json()["id"]
    assert gateway.store.spend_today("alice", day) > 0
    answer = cancel(gateway, task_id)
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == CANCELLED and "before it was forwarded" in answer.json()["error"]
    assert gateway.store.spend_today("alice", day) == 0.0  # nothing was spent
    assert gateway.forwarder().run_once() is None and aws.emulator.tasks() == []  # never sent
    again = cancel(gateway, task_id)  # asking again: the same answer, nothing recorded or given back twice
    assert again.status_code == 200 and again.json()["state"] == CANCELLED
    assert [e["event"] for e in audit_events(gateway)] == ["decision", "cancel"]
    assert audit_events(gateway)[1]["subject"] == "alice" and audit_events(gateway)[1]["state"] == CANCELLED
    assert verify(gateway.config.audit_log, head=gateway.store.audit_head()[1]) == []


def test_cancels_at_once_give_the_estimate_back_once(gateway):
    from concurrent.futures import ThreadPoolExecutor
    from datetime import datetime

    day = datetime.fromtimestamp(time.time(), gateway.config.zone).date().isoformat()
    gateway.store.add_spend("alice", day, 10.0)
    task_id = gateway.submit().json()["id"]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: cancel(gateway, task_id), range(8)))
    assert {a.status_code for a in answers} == {200}
    assert gateway.store.spend_today("alice", day) == 10.0
    assert [e["event"] for e in audit_events(gateway)].count("cancel") == 1


def test_only_the_owner_cancels_and_a_finished_task_has_nothing_to_cancel(gateway):
    ids = [gateway.submit().json()["id"] for _ in range(3)]
    gateway.store.finish(ids[1], COMPLETED, counts={"counts": {"00": 1}, "measured_qubits": [0, 1]})
    gateway.store.finish(ids[2], FAILED, error="Braket said no")
    assert cancel(gateway, ids[0], subject="bob").status_code == 404  # another's task is not yours to see
    assert gateway.client.post(f"/v1/tasks/{ids[0]}/cancel").status_code == 401
    assert cancel(gateway, "no-such-task").status_code == 404
    for task_id, state in ((ids[1], COMPLETED), (ids[2], FAILED)):
        answer = cancel(gateway, task_id)
        assert answer.status_code == 409 and answer.json()["error"] == "already_final", answer.text
        assert answer.json()["reason"] == f"task {task_id} is {state}: there is nothing to cancel"
        assert gateway.store.get(task_id).state == state
    assert gateway.store.get(ids[0]).state == ACCEPTED
    assert [e["event"] for e in audit_events(gateway)] == ["decision"] * 3


def test_a_forwarded_task_is_cancelled_at_braket_by_the_gateway(gateway, aws):
    """At Braket already (QUEUED there for a while): the cancel is taken (202, cancel_requested), the
    forwarder's next poll calls CancelQuantumTask with the gateway's credentials, and the task ends
    CANCELLED, with the request, the call and the end on record."""
    aws.emulator.configure(queue_delay=30.0)
    task_id = gateway.submit().json()["id"]
    forwarder = gateway.forwarder()
    assert forwarder.run_once().id == task_id and gateway.store.get(task_id).state == FORWARDED
    answer = cancel(gateway, task_id)
    assert answer.status_code == 202, answer.text
    assert answer.json()["state"] == FORWARDED and answer.json()["cancel_requested"] is True
    assert gateway.status(task_id).json()["cancel_requested"] is True
    deadline = time.monotonic() + 20
    while gateway.store.get(task_id).state != CANCELLED:
        assert time.monotonic() < deadline, gateway.store.get(task_id)
        forwarder.poll_once()
        time.sleep(0.05)
    [task] = aws.emulator.tasks()
    assert task["status"] == CANCELLED and task["arn"] == gateway.store.get(task_id).task_arn
    answer = gateway.status(task_id).json()
    assert answer["state"] == CANCELLED and answer["counts"] is None
    events = audit_events(gateway)
    assert [e["event"] for e in events] == ["decision", "forwarded", "cancel", "cancel_sent", "finished"]
    assert events[-1]["state"] == CANCELLED and events[3]["task_arn"] == task["arn"]
    assert verify(gateway.config.audit_log, head=gateway.store.audit_head()[1]) == []


# -- program inputs -----------------------------------------------------------------------------------
PARAMETRIC = """OPENQASM 3.0;
input float theta_secret;
qubit[1] alice_qubit;
bit[1] alice_bit;
rx(theta_secret) alice_qubit[0];
alice_bit = measure alice_qubit;
"""


def test_a_parametric_program_goes_with_its_input_values_under_opaque_names(gateway, aws):
    import math

    accepted = gateway.submit(program=PARAMETRIC, inputs={"theta_secret": math.pi})
    assert accepted.status_code == 202, accepted.text
    task_id = accepted.json()["id"]
    forwarder = gateway.forwarder()
    forward_until_done(gateway, forwarder, [task_id])
    [task] = aws.emulator.tasks()
    action = json.loads(task["action"])
    assert action["inputs"] == {"p0": math.pi} and "input float p0;" in action["source"]
    assert "secret" not in json.dumps(task) and "alice" not in json.dumps(task)
    answer = gateway.status(task_id).json()
    assert answer["counts"]["registers"] == {"alice_bit": {"1": 100}}, answer  # rx(pi) flips it every shot


@pytest.mark.parametrize("inputs, reason", [
    ({}, "input 'theta_secret' has no value: give it in the task's inputs"),
    ({"theta_secret": 1.0, "phi": 2.0}, "inputs names 'phi', which the program does not declare as an input (its inputs: theta_secret)"),
    ({"theta_secret": "1e999"}, "input 'theta_secret' = inf: expected a finite number"),
])
def test_missing_unknown_or_infinite_inputs_are_refused_in_one_line(gateway, inputs, reason):
    answer = gateway.submit(program=PARAMETRIC, inputs=inputs)
    assert answer.status_code == 400 and answer.json() == {"error": "invalid_program", "reason": reason}, answer.text
    assert gateway.forwarder().run_once() is None


def test_a_repeated_key_with_other_input_values_is_another_request(gateway):
    headers = {"Authorization": f"Bearer {token('alice')}", "Idempotency-Key": "sweep-1"}
    body = {"device": SV1, "shots": 10, "program": PARAMETRIC, "inputs": {"theta_secret": 0.5}}
    first = gateway.client.post("/v1/tasks", json=body, headers=headers)
    again = gateway.client.post("/v1/tasks", json=body, headers=headers)
    assert first.status_code == again.status_code == 202 and first.json()["id"] == again.json()["id"]
    other = gateway.client.post("/v1/tasks", json={**body, "inputs": {"theta_secret": 0.6}}, headers=headers)
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused", other.text
