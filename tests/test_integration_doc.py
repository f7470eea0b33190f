"""docs/integration.md stays true: its worked signing example recomputes exactly (with the platform's
signing helper, the `standardwebhooks` package, the standard library, and the page's own Python and
openssl recipes), and every event type the gateway takes has a section whose JSON examples are
events its model accepts."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks.webhooks
from standardwebhooks import Webhook

from shared.ingest import envelope, signing
from shared.ingest.data import DATA_MODELS

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "integration.md").read_text()


def block_after(marker: str, language: str) -> str:
    """The first fenced block of `language` after `marker`."""
    start = DOC.index(marker)
    found = re.compile(rf"^```{language}\n(.*?)^```", re.S | re.M).search(DOC, start)
    assert found, f"no {language} block after {marker!r}"
    return found.group(1)


def section(heading: str) -> str:
    """The text of a `## ` or `### ` section, up to the next heading of its level or above."""
    level = heading.split(" ", 1)[0]
    start = DOC.index(f"\n{heading}\n") + 1
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", DOC[start + len(heading) :], re.M)]
    return DOC[start : start + len(heading) + ends[0]] if ends else DOC[start:]


def worked_example() -> dict[str, str]:
    """The `key  value` lines of the worked signing example (columns split by two or more spaces)."""
    lines = block_after("<!-- signing-example", "text").splitlines()
    return dict(re.split(r"\s{2,}", line, maxsplit=1) for line in lines if line.strip())  # type: ignore[misc]


@pytest.fixture
def example() -> dict[str, str]:
    return worked_example()


@pytest.fixture
def at_example_time(monkeypatch: pytest.MonkeyPatch, example: dict[str, str]) -> dt.datetime:
    """`standardwebhooks` checks the timestamp against its clock: set that clock to the example's."""
    fixed = dt.datetime.fromtimestamp(int(example["webhook-timestamp"]), dt.UTC)

    class Clock(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Any:
            return fixed if tz is None else fixed.astimezone(tz)

    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", Clock)
    return fixed


def test_the_key_is_the_secrets_decoded_bytes(example: dict[str, str]) -> None:
    key = base64.b64decode(example["secret"].removeprefix("whsec_"))
    assert key == example["key"].encode()
    assert key.hex() == example["key (hex)"]


def test_the_signed_content_is_id_timestamp_body(example: dict[str, str]) -> None:
    assert example["signed content"] == f"{example['webhook-id']}.{example['webhook-timestamp']}.{example['body']}"
    assert re.search(r"its (\d+) bytes are signed", DOC)[1] == str(len(example["body"].encode()))  # type: ignore[index]


def test_the_signature_recomputes_exactly(example: dict[str, str], at_example_time: dt.datetime) -> None:
    secret, body = example["secret"], example["body"].encode()
    expected = example["webhook-signature"]
    # The platform's client helper, as the simulator and the benchmark sign.
    headers = signing.headers_for(body, secret, msg_id=example["webhook-id"], timestamp=at_example_time)
    assert headers == {
        "webhook-id": example["webhook-id"],
        "webhook-timestamp": example["webhook-timestamp"],
        "webhook-signature": expected,
    }
    # The maintained package, and HMAC-SHA256 by hand.
    assert Webhook(secret).sign(example["webhook-id"], at_example_time, example["body"]) == expected
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, example["signed content"].encode(), hashlib.sha256)
    assert "v1," + base64.b64encode(digest.digest()).decode() == expected
    # And the gateway's check passes at that time, with that secret only.
    signing.verify(body, headers, [secret])
    with pytest.raises(signing.SignatureInvalid):
        signing.verify(body, headers, [signing.DEVELOPMENT_SECRET])
    with pytest.raises(signing.SignatureInvalid):
        signing.verify(body + b" ", headers, [secret])


def test_the_example_is_stale_today(example: dict[str, str]) -> None:
    """The page says the platform would refuse the fixed timestamp now."""
    body = example["body"].encode()
    headers = {k: example[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    with pytest.raises(signing.SignatureInvalid, match="too old"):
        signing.verify(body, headers, [example["secret"]])


def test_the_request_headers_shown_are_the_examples(example: dict[str, str]) -> None:
    shown = dict(
        line.split(": ", 1) for line in block_after("So the request's headers are", "http").splitlines() if line
    )
    assert shown == {
        "Content-Type": envelope.SINGLE,
        "webhook-id": example["webhook-id"],
        "webhook-timestamp": example["webhook-timestamp"],
        "webhook-signature": example["webhook-signature"],
    }


def test_the_signed_body_is_the_child_registered_example(example: dict[str, str]) -> None:
    [shown] = examples_of("child.registered")[:1]
    assert json.loads(example["body"]) == shown
    assert example["body"] == json.dumps(shown, separators=(",", ":"), ensure_ascii=False)


def test_the_python_recipe_gives_the_example(
    example: dict[str, str], monkeypatch: pytest.MonkeyPatch, at_example_time: dt.datetime
) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(block_after("### In Python", "python"), "docs/integration.md", "exec"), namespace)
    monkeypatch.setattr(time, "time", lambda: float(example["webhook-timestamp"]))
    monkeypatch.setattr(secrets, "token_hex", lambda _n=None: example["webhook-id"].removeprefix("msg_"))
    headers = namespace["signed_headers"](example["body"].encode(), example["secret"])
    assert headers["webhook-id"] == example["webhook-id"]
    assert headers["webhook-timestamp"] == example["webhook-timestamp"]
    assert headers["webhook-signature"] == example["webhook-signature"]


def test_the_openssl_recipe_gives_the_example(example: dict[str, str], tmp_path: Path) -> None:
    missing = [tool for tool in ("openssl", "od", "bash") if shutil.which(tool) is None]
    assert missing == [], f"the recipe needs {missing} (.ci/run installs openssl when it is missing)"
    recipe = block_after("### With curl and openssl", "sh")
    # The recipe's own lines that compute the key and the signature (the curl call is left out).
    lines = recipe.split("\ncurl ")[0].splitlines()
    kept = "\n".join(line for line in lines if not line.startswith(("SECRET=", "MSG_ID=", "TS=")))
    (tmp_path / "event.json").write_bytes(example["body"].encode())
    script = f'{kept}\nprintf "v1,%s" "$SIG"'
    env = {"PATH": "/usr/bin:/bin", "SECRET": example["secret"], "MSG_ID": example["webhook-id"],
           "TS": example["webhook-timestamp"]}  # fmt: skip
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert done.stdout == example["webhook-signature"]


# --- The event types ----------------------------------------------------------------------------------


def examples_of(event_type: str) -> list[Any]:
    text = section(f"### `{event_type}`")
    return [json.loads(block) for block in re.findall(r"^```json\n(.*?)^```", text, re.S | re.M)]


@pytest.mark.parametrize("event_type", sorted(DATA_MODELS))
def test_every_type_has_a_section_and_examples_its_model_accepts(event_type: str) -> None:
    shown = examples_of(event_type)
    assert shown, f"docs/integration.md: no JSON example under ### `{event_type}`"
    for event in shown:
        assert event["type"] == event_type
        DATA_MODELS[event_type].model_validate(event["data"])
        checked = envelope.check(event)
        assert isinstance(checked, envelope.Checked), checked
    assert f"| [`{event_type}`](#" in section("## Event types"), f"{event_type} is missing from the types table"


def test_every_data_field_is_in_its_sections_table() -> None:
    for event_type, model in DATA_MODELS.items():
        table = section(f"### `{event_type}`")
        for name in model.model_fields:
            assert f"| `{name}` |" in table, f"{event_type}: field {name} is not in its table"


def test_example_ids_are_unique() -> None:
    ids = [event["id"] for event_type in DATA_MODELS for event in examples_of(event_type)]
    assert len(ids) == len(set(ids))


def test_the_answer_example_matches_its_request() -> None:
    request = json.loads(block_after("<!-- answer-example: the request", "json"))
    answer = json.loads(block_after("<!-- answer-example: the answer", "json"))["results"]
    assert [r["id"] for r in answer] == [e["id"] for e in request]
    for event in request:
        assert isinstance(envelope.check(event), envelope.Checked)  # refused, where so, by a rule, not its shape
    assert {r["status"] for r in answer} == {"accepted", "duplicate", "rejected"}
